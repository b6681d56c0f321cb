#pragma once
// The matrix products under every dense and convolution layer:
//
//   gemm:     C[m, n] (+)= sum_k A(m, k) B[k][n]     A: M x K (any strides), B: K rows
//   gemm_nt:  C[m, n] (+)= sum_k A[m][k] B[n][k]     A: M rows, B: N rows, both along k
//
// Rows are reached through a row source: StridedRows (row k at data + k * stride, an
// ordinary row-major matrix) or OffsetRows (row k at data + offsets[k]). OffsetRows lets a
// stride-1 convolution read its shifted input rows in place instead of copying them into
// an im2col matrix (see conv2d.hpp). Both kernels read rows as contiguous runs.
//
// gemm is the "broadcast A, stream B" scheme: a register tile of MR rows by NR SIMD vectors
// of C stays in registers for the whole k loop; each step loads NR vectors of row k of B,
// broadcasts MR elements of A and issues MR*NR fused multiply-adds. On AVX-512 that is 6 x 4
// vectors (24 accumulators of 32 registers): 96 flops per 4 loads and 6 broadcasts.
// Columns that do not fill a tile run as single vectors, then as one narrower vector of
// each width the target has (16, 8, 4 floats on AVX-512), then one at a time. Every element
// of C is one chain of fused multiply-adds over k = 0, 1, ..., K-1 started from zero
// (std::fma in the scalar columns), then added to the old C when accumulating: on targets
// with FMA its bits depend neither on the tile it fell into nor on how a caller splits C
// between threads. (Callers split C in fixed blocks anyway, so results never depend on the
// thread count.)
//
// gemm_nt vectorises along k instead: a tile of 4 x 4 accumulators loads 8 vectors per 16
// fmas; each accumulator is reduced by one horizontal add, then the last K mod width terms
// are added with scalar fmas. Again each element's arithmetic depends only on K.
//
// No allocation: neither kernel packs its operands.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "farbound/core/parallel.hpp"

namespace farbound::detail {

// A matrix read element by element: (i, j) is data[i * row_stride + j * col_stride].
template <class T>
struct StridedMatrix {
  const T* data;
  std::int64_t row_stride, col_stride;

  StridedMatrix from_row(std::int64_t m) const { return {data + m * row_stride, row_stride, col_stride}; }
};

// Rows of a row-major matrix: row k starts at data + k * stride.
template <class T>
struct StridedRows {
  const T* data;
  std::int64_t stride;

  const T* operator[](std::int64_t k) const { return data + k * stride; }
  StridedRows from_row(std::int64_t k) const { return {data + k * stride, stride}; }
  StridedRows from_col(std::int64_t n) const { return {data + n, stride}; }
};

// Rows anywhere in one buffer: row k starts at data + offsets[k].
template <class T>
struct OffsetRows {
  const T* data;
  const std::int64_t* offsets;

  const T* operator[](std::int64_t k) const { return data + offsets[k]; }
  OffsetRows from_row(std::int64_t k) const { return {data, offsets + k}; }
  OffsetRows from_col(std::int64_t n) const { return {data + n, offsets}; }
};

// Whether a product overwrites C or adds to it.
enum class GemmOutput { overwrite, accumulate };

namespace gemm_impl {

// a * b + c with one rounding. xsimd 8.1 has no AVX-512 fma kernel: its generic a * b + c
// is fused only when the optimiser contracts it (not at -O1, say), so AVX-512 calls the
// intrinsic directly.
template <class V>
V fused_multiply_add(const V& a, const V& b, const V& c) {
#if XSIMD_WITH_AVX512F
  if constexpr (std::is_base_of_v<xsimd::avx512f, typename V::arch_type>) {
    if constexpr (std::is_same_v<typename V::value_type, float>) return _mm512_fmadd_ps(a, b, c);
    else return _mm512_fmadd_pd(a, b, c);
  }
#endif
  return xsimd::fma(a, b, c);
}

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
  static T fma(T a, T b, T c) { return std::fma(a, b, c); }
};

// gemm register tile: rows [0, MR) x columns [0, NR * width) of C at c.
template <class V, int MR, int NR, class T, class BRows>
inline void tile(std::int64_t K, StridedMatrix<T> A, BRows B, T* c, std::int64_t ldc, GemmOutput output) {
  using L = Lanes<V, T>;
  V acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = V(T(0));
  for (std::int64_t k = 0; k < K; ++k) {
    const T* bk_row = B[k];
    V bk[NR];
    for (int j = 0; j < NR; ++j) bk[j] = L::load(bk_row + j * L::width);
    for (int i = 0; i < MR; ++i) {
      const V aik(A.data[i * A.row_stride + k * A.col_stride]);
      for (int j = 0; j < NR; ++j) acc[i][j] = L::fma(aik, bk[j], acc[i][j]);
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) {
      T* cij = c + i * ldc + j * L::width;
      L::store(output == GemmOutput::accumulate ? acc[i][j] + L::load(cij) : acc[i][j], cij);
    }
}

// A column panel of width NR * width over all M rows, MR rows at a time.
template <class V, int MR, int NR, class T, class BRows>
void panel(std::int64_t M, std::int64_t K, StridedMatrix<T> A, BRows B, T* c, std::int64_t ldc, GemmOutput output) {
  std::int64_t m = 0;
  for (; m + MR <= M; m += MR) tile<V, MR, NR>(K, A.from_row(m), B, c + m * ldc, ldc, output);
  if constexpr (MR > 1) {
    if (m < M) panel<V, MR - 1, NR>(M - m, K, A.from_row(m), B, c + m * ldc, ldc, output);
  }
}

// Register budget: 6 x 4 accumulators with 32 vector registers (AVX-512), 6 x 2 with 16.
#if XSIMD_WITH_AVX512F
inline constexpr int tile_rows = 6, tile_vectors = 4;
#else
inline constexpr int tile_rows = 6, tile_vectors = 2;
#endif

// Whether fused_multiply_add on batches of architecture A is one fused instruction. On x86
// the narrow batches xsimd offers next to AVX-512 may be plain SSE4.2, whose fma rounds the
// product before adding; the scalar columns use std::fma, so such widths are skipped for
// elements not to depend on the tile they fall in.
template <class A>
inline constexpr bool fused_fma = std::is_base_of_v<xsimd::avx512f, A> || std::is_base_of_v<xsimd::fma3<xsimd::avx2>, A> ||
                                  std::is_base_of_v<xsimd::fma3<xsimd::sse4_2>, A>;

// Columns [n, N) that are fewer than two vectors of width W: at most one vector of width
// W (when the target has it, with a fused fma), then the narrower widths, then single columns.
template <class T, std::int64_t W, class BRows>
void column_tail(std::int64_t n, std::int64_t M, std::int64_t N, std::int64_t K, StridedMatrix<T> A, BRows B, T* C,
                 std::int64_t ldc, GemmOutput output) {
  if constexpr (W <= 1) {
    for (; n < N; ++n) panel<T, tile_rows, 1>(M, K, A, B.from_col(n), C + n, ldc, output);
  } else {
    using V = xsimd::make_sized_batch_t<T, std::size_t(W)>;
    if constexpr (!std::is_void_v<V>) {
      if constexpr (fused_fma<typename V::arch_type>) {
        if (n + W <= N) {
          panel<V, tile_rows, 1>(M, K, A, B.from_col(n), C + n, ldc, output);
          n += W;
        }
      }
    }
    column_tail<T, W / 2>(n, M, N, K, A, B, C, ldc, output);
  }
}

// sums[j] = sum of the lanes of v[j], j < N. With AVX-512 floats four vectors are reduced
// together by one transposing tree (11 instructions for 4 sums instead of about 40 for four
// separate horizontal adds); unused inputs are zero and do not touch the others' lanes, so
// each sum has the same bits in any slot. Elsewhere, one xsimd::hadd per vector.
template <int N, class T, class A>
void horizontal_sums(const xsimd::batch<T, A>* v, T* sums) {
#if XSIMD_WITH_AVX512F
  if constexpr (std::is_same_v<T, float> && xsimd::batch<T, A>::size == 16) {  // a __m512
    __m512 in[4];
    for (int j = 0; j < 4; ++j) in[j] = j < N ? __m512(v[j]) : _mm512_setzero_ps();
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
    for (int j = 0; j < N; ++j) sums[j] = lanes[j];
    return;
  }
#endif
  for (int j = 0; j < N; ++j) sums[j] = xsimd::hadd(v[j]);
}

// gemm_nt register tile: MR x NR dot products, each accumulated in one vector along k.
template <int MR, int NR, class T, class ARows, class BRows>
void nt_tile(std::int64_t K, ARows A, BRows B, T* c, std::int64_t ldc, GemmOutput output) {
  using V = xsimd::batch<T>;
  constexpr std::int64_t W = V::size;
  const std::int64_t K_vec = K - K % W;
  const T* a[MR];
  const T* b[NR];
  for (int i = 0; i < MR; ++i) a[i] = A[i];
  for (int j = 0; j < NR; ++j) b[j] = B[j];
  V acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = V(T(0));
  for (std::int64_t k = 0; k < K_vec; k += W) {
    V bk[NR];
    for (int j = 0; j < NR; ++j) bk[j] = V::load_unaligned(b[j] + k);
    for (int i = 0; i < MR; ++i) {
      const V ai = V::load_unaligned(a[i] + k);
      for (int j = 0; j < NR; ++j) acc[i][j] = fused_multiply_add(ai, bk[j], acc[i][j]);
    }
  }
  for (int i = 0; i < MR; ++i) {
    T sums[NR];
    horizontal_sums<NR>(acc[i], sums);
    for (int j = 0; j < NR; ++j) {
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

}  // namespace gemm_impl

// C[M, N] = A B or C += A B, B given by rows (see the top of this file).
template <class T, class BRows>
void gemm(std::int64_t M, std::int64_t N, std::int64_t K, StridedMatrix<T> A, BRows B, T* C, std::int64_t ldc,
          GemmOutput output) {
  using namespace gemm_impl;
  using V = xsimd::batch<T>;
  constexpr std::int64_t W = V::size;
  std::int64_t n = 0;
  for (; n + tile_vectors * W <= N; n += tile_vectors * W)
    panel<V, tile_rows, tile_vectors>(M, K, A, B.from_col(n), C + n, ldc, output);
  for (; n + W <= N; n += W) panel<V, tile_rows, 1>(M, K, A, B.from_col(n), C + n, ldc, output);
  column_tail<T, W / 2>(n, M, N, K, A, B, C, ldc, output);
}

// C[m, n] (+)= sum_k A[m][k] B[n][k] (see the top of this file).
template <class T, class ARows, class BRows>
void gemm_nt(std::int64_t M, std::int64_t N, std::int64_t K, ARows A, BRows B, T* C, std::int64_t ldc,
             GemmOutput output) {
  using namespace gemm_impl;
  for (std::int64_t m = 0; m < M; m += nt_rows)
    for (std::int64_t n = 0; n < N; n += nt_cols)
      nt_tile_dispatch(int(std::min<std::int64_t>(nt_rows, M - m)), int(std::min<std::int64_t>(nt_cols, N - n)), K,
                       A.from_row(m), B.from_row(n), C + m * ldc + n, ldc, output);
}

// gemm with C split into fixed blocks that run in parallel (when there is enough work).
// The blocks depend only on M and N; with the property above they do not even matter.
template <class T, class BRows>
void parallel_gemm(std::int64_t M, std::int64_t N, std::int64_t K, StridedMatrix<T> A, BRows B, T* C,
                   std::int64_t ldc, GemmOutput output) {
  constexpr std::int64_t block_rows = 4 * gemm_impl::tile_rows;
  constexpr std::int64_t block_cols = 8 * gemm_impl::tile_vectors * std::int64_t(xsimd::batch<T>::size);
  // Below about a million multiply-adds (~20 us) a parallel region costs more than it saves.
  constexpr std::int64_t min_parallel_work = std::int64_t(1) << 20;
  const std::int64_t row_blocks = chunk_count(M, block_rows), col_blocks = chunk_count(N, block_cols);
  const auto run_block = [&](std::int64_t b) {
    const std::int64_t m = (b / col_blocks) * block_rows, n = (b % col_blocks) * block_cols;
    gemm(std::min(block_rows, M - m), std::min(block_cols, N - n), K, A.from_row(m), B.from_col(n), C + m * ldc + n,
         ldc, output);
  };
  if (M * N * K < min_parallel_work) {
    for (std::int64_t b = 0; b < row_blocks * col_blocks; ++b) run_block(b);
  } else {
    parallel_for(row_blocks * col_blocks, run_block);
  }
}

}  // namespace farbound::detail
