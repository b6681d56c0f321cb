#pragma once
// The arithmetic both GEMM paths share: a fused multiply-add on registers, and the packed
// micro-kernel.
//
// Every element of every product in farbound is one chain of fused multiply-adds,
//   c <- fma(a(m, 0), b(0, n), c0); c <- fma(a(m, 1), b(1, n), c); ... up to k = K-1,
// started from c0 = 0 (overwrite) or the old C (accumulate). A chain may be stopped, stored to
// C and picked up again (stores and loads of a float are exact), so splitting K into cache
// blocks does not change it; neither does the register tile an element falls into, nor the
// thread that computes it. This is what makes results bitwise identical on any thread count
// and lets a caller choose the packed or the unpacked path by shape alone.
#include <cmath>
#include <cstdint>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "farbound/core/host_device.hpp"
#include "farbound/core/simd.hpp"

namespace farbound::detail {

// Whether a product overwrites C or adds to it.
enum class GemmOutput { overwrite, accumulate };

}  // namespace farbound::detail

namespace farbound::detail::gemm_impl {

using simd::fused_multiply_add;

// Whether fused_multiply_add on batches of architecture A is one fused instruction. On x86
// the narrow batches xsimd offers next to AVX-512 may be plain SSE4.2, whose fma rounds the
// product before adding: kernels that pick a narrower width skip such widths (gemm.hpp's
// column tails, whose elements must not depend on the tile they fall in; the convolution
// weight gradient's lanes).
template <class A>
inline constexpr bool fused_fma = std::is_base_of_v<xsimd::avx512f, A> || std::is_base_of_v<xsimd::fma3<xsimd::avx2>, A> ||
                                  std::is_base_of_v<xsimd::fma3<xsimd::sse4_2>, A>;

// Load, store and fused multiply-add on either an xsimd batch or a plain scalar.
template <class V, class T>
struct Lanes {
  static constexpr std::int64_t width = V::size;
  static V load(const T* p) { return V::load_unaligned(p); }
  static void store(const V& v, T* p) { v.store_unaligned(p); }
  static V fma(const V& a, const V& b, const V& c) { return fused_multiply_add(a, b, c); }
};
template <class T>
struct Lanes<T, T> {
  static constexpr std::int64_t width = 1;
  static T load(const T* p) { return *p; }
  static void store(T v, T* p) { *p = v; }
  // Rounded as the target's widest batch rounds, so that an element in a scalar tail gets
  // the bits it would get in a vector tile: without a fused fma (SSE2, say) the batches
  // round the product before adding, and so does this.
  static T fma(T a, T b, T c) {
    if constexpr (fused_fma<xsimd::default_arch>) return std::fma(a, b, c);
    else return a * b + c;
  }
};

// The packed micro-kernel's register tile: MR rows by NV vectors of C. Per step of k it
// loads NV vectors of packed B, broadcasts MR numbers of packed A and issues MR*NV fmas into
// accumulators that stay in registers for the whole k loop. AVX2 has 16 vector registers:
// 6 x 2 accumulators + 2 for B + 1 broadcast (BLIS's Haswell/Zen shape, 6 x 16 floats).
// AVX-512 has 32: 12 x 2 + 2 + 1, 12 x 32 floats, 24 fmas per 2 loads and 12 broadcasts.
// The unpacked kernel (gemm.hpp) streams B from memory and keeps more vectors per row of A:
// 6 x 4 accumulators on AVX-512, 6 x 2 on AVX2.
#if XSIMD_WITH_AVX512F
inline constexpr int packed_rows = 12, packed_vectors = 2;
inline constexpr int tile_rows = 6, tile_vectors = 4;
#else
inline constexpr int packed_rows = 6, packed_vectors = 2;
inline constexpr int tile_rows = 6, tile_vectors = 2;
#endif

template <class T>
inline constexpr std::int64_t packed_cols = packed_vectors * std::int64_t(xsimd::batch<T>::size);

// C[0:R, 0:NR] = (load_c ? C : 0) + a b over kc steps, the first R rows of a sliver (R = MR
// but for C's last rows). a: kc groups of MR numbers (column k of an MR-row sliver of A), b:
// kc groups of NR numbers (row k of an NR-column sliver of B).
template <class T, int R = packed_rows>
inline void packed_tile(std::int64_t kc, const T* __restrict a, const T* __restrict b, T* c, std::int64_t ldc,
                        bool load_c) {
  using V = xsimd::batch<T>;
  constexpr int MR = packed_rows, NV = packed_vectors;
  constexpr std::int64_t W = V::size;
  V acc[R][NV];
  FARBOUND_UNROLL for (int i = 0; i < R; ++i)
    FARBOUND_UNROLL for (int j = 0; j < NV; ++j) acc[i][j] = load_c ? V::load_unaligned(c + i * ldc + j * W) : V(T(0));
  // Unrolled: the loop's own adds and branch would otherwise be 8 of 20 instructions per step.
#pragma GCC unroll 4
  for (std::int64_t k = 0; k < kc; ++k) {
    V bk[NV];
    FARBOUND_UNROLL for (int j = 0; j < NV; ++j) bk[j] = V::load_aligned(b + j * W);
    FARBOUND_UNROLL for (int i = 0; i < R; ++i) {
      const V aik(a[i]);
      FARBOUND_UNROLL for (int j = 0; j < NV; ++j) acc[i][j] = fused_multiply_add(aik, bk[j], acc[i][j]);
    }
    a += MR;
    b += NV * W;
  }
  FARBOUND_UNROLL for (int i = 0; i < R; ++i)
    FARBOUND_UNROLL for (int j = 0; j < NV; ++j) acc[i][j].store_unaligned(c + i * ldc + j * W);
}

// packed_tile over the first `rows` (1 .. MR) rows, R picked for the run-time count: C's last
// rows run straight into C, as many chains as they have, instead of a whole tile on the stack
// (M = 64 is 5 x 12 + 4 rows: 64 x 32768 x 288 on an Intel Xeon core 74-86 -> 85-92 GFLOP/s).
template <class T, int R = packed_rows>
inline void packed_tile_rows(int rows, std::int64_t kc, const T* __restrict a, const T* __restrict b, T* c,
                             std::int64_t ldc, bool load_c) {
  if constexpr (R > 1) {
    if (rows < R) return packed_tile_rows<T, R - 1>(rows, kc, a, b, c, ldc, load_c);
  }
  packed_tile<T, R>(kc, a, b, c, ldc, load_c);
}

}  // namespace farbound::detail::gemm_impl
