#pragma once
// gemm_nt's products without packing (gemm.hpp): C[m, n] (+)= sum_k A[m][k] B[n][k] with both
// operands read along k, so each element is a dot product of two contiguous rows. A tile of
// 4 x 4 accumulators loads 8 vectors per 16 fmas; each accumulator is reduced by one
// horizontal add, then the last K mod width terms are added with scalar fmas. Each element's
// arithmetic depends only on K, not on the tile it falls into.
#include <cmath>
#include <cstdint>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "farbound/core/host_device.hpp"
#include "farbound/nn/detail/gemm_kernel.hpp"

namespace farbound::detail::gemm_impl {

// sums[j] = sum of the lanes of v[j], j < N. With AVX-512 floats four vectors are reduced
// together by one transposing tree (11 instructions for 4 sums instead of about 40 for four
// separate horizontal adds); unused inputs are zero and do not touch the others' lanes, so
// each sum has the same bits in any slot. Elsewhere, one xsimd::hadd per vector.
template <int N, class T, class A>
void horizontal_sums(const xsimd::batch<T, A>* v, T* sums) {
#if XSIMD_WITH_AVX512F
  if constexpr (std::is_same_v<T, float> && xsimd::batch<T, A>::size == 16) {  // a __m512
    __m512 in[4];
    FARBOUND_UNROLL for (int j = 0; j < 4; ++j) in[j] = j < N ? __m512(v[j]) : _mm512_setzero_ps();
    // Within each 128-bit block: [a0+a2, b0+b2, a1+a3, b1+b3], then [sum a, sum b, sum c, sum d].
    const __m512 ab = _mm512_add_ps(_mm512_unpacklo_ps(in[0], in[1]), _mm512_unpackhi_ps(in[0], in[1]));
    const __m512 cd = _mm512_add_ps(_mm512_unpacklo_ps(in[2], in[3]), _mm512_unpackhi_ps(in[2], in[3]));
    const __m512 abcd = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(ab), _mm512_castps_pd(cd))),
                                      _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(ab), _mm512_castps_pd(cd))));
    // Then the four 128-bit blocks: (0 + 2) + (1 + 3).
    const __m256 upper = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(abcd), 1));
    const __m256 halves = _mm256_add_ps(_mm512_castps512_ps256(abcd), upper);
    const __m128 total = _mm_add_ps(_mm256_castps256_ps128(halves), _mm256_extractf128_ps(halves, 1));
    alignas(16) float lanes[4];
    _mm_store_ps(lanes, total);
    FARBOUND_UNROLL for (int j = 0; j < N; ++j) sums[j] = lanes[j];
    return;
  }
#endif
  FARBOUND_UNROLL for (int j = 0; j < N; ++j) sums[j] = xsimd::hadd(v[j]);
}

// gemm_nt register tile: MR x NR dot products, each accumulated in one vector along k.
template <int MR, int NR, class T, class ARows, class BRows>
void nt_tile(std::int64_t K, ARows A, BRows B, T* c, std::int64_t ldc, GemmOutput output) {
  using V = xsimd::batch<T>;
  constexpr std::int64_t W = V::size;
  const std::int64_t K_vec = K - K % W;
  const T* a[MR];
  const T* b[NR];
  FARBOUND_UNROLL for (int i = 0; i < MR; ++i) a[i] = A[i];
  FARBOUND_UNROLL for (int j = 0; j < NR; ++j) b[j] = B[j];
  V acc[MR][NR];
  FARBOUND_UNROLL for (int i = 0; i < MR; ++i)
    FARBOUND_UNROLL for (int j = 0; j < NR; ++j) acc[i][j] = V(T(0));
  for (std::int64_t k = 0; k < K_vec; k += W) {
    V bk[NR];
    FARBOUND_UNROLL for (int j = 0; j < NR; ++j) bk[j] = V::load_unaligned(b[j] + k);
    FARBOUND_UNROLL for (int i = 0; i < MR; ++i) {
      const V ai = V::load_unaligned(a[i] + k);
      FARBOUND_UNROLL for (int j = 0; j < NR; ++j) acc[i][j] = fused_multiply_add(ai, bk[j], acc[i][j]);
    }
  }
  FARBOUND_UNROLL for (int i = 0; i < MR; ++i) {
    T sums[NR];
    horizontal_sums<NR>(acc[i], sums);
    FARBOUND_UNROLL for (int j = 0; j < NR; ++j) {
      T s = sums[j];
      for (std::int64_t k = K_vec; k < K; ++k) s = std::fma(a[i][k], b[j][k], s);
      T& cij = c[i * ldc + j];
      cij = output == GemmOutput::accumulate ? cij + s : s;
    }
  }
}

inline constexpr int nt_rows = 4, nt_cols = 4;

// Calls nt_tile<mr, nr> for run-time mr <= MR, nr <= NR.
template <int MR = nt_rows, int NR = nt_cols, class T, class ARows, class BRows>
void nt_tile_dispatch(int mr, int nr, std::int64_t K, ARows A, BRows B, T* c, std::int64_t ldc, GemmOutput output) {
  if constexpr (MR > 1) {
    if (mr < MR) return nt_tile_dispatch<MR - 1, NR>(mr, nr, K, A, B, c, ldc, output);
  }
  if constexpr (NR > 1) {
    if (nr < NR) return nt_tile_dispatch<MR, NR - 1>(mr, nr, K, A, B, c, ldc, output);
  }
  nt_tile<MR, NR>(K, A, B, c, ldc, output);
}

}  // namespace farbound::detail::gemm_impl
