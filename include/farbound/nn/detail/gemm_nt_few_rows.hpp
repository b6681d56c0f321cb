#pragma once
// C[m, n] (+)= sum_k A[m][k] B[n][k] for a few rows of C, in gemm's order: every element is
// one fma chain over k = 0 .. K-1, from zero or the old C (gemm_kernel.hpp), where
// gemm_nt's own path for small products sums along k in lanes and so rounds differently.
//
// Dense's forward at a small batch, y = x W^T + b, is this product with A = x, B = W and C
// starting at the bias. It used to copy W^T (48 000 numbers for LeNet's first dense layer)
// and call gemm, for a product of only 2 x 48 000 multiply-adds at batch 1 of training: the
// copy took three times the product. Here each block of 16 rows of B by 16 k's is loaded
// and transposed in registers (detail/transpose_16x16.hpp), which leaves column k of the 16
// rows in one vector, and every row of C takes its fma per k with its number of A
// broadcast, as gemm's register tiles do: the same chains, so the same bits as before.
//
// AVX-512 floats, and AVX2 + FMA floats with blocks of 8 x 8 (detail/transpose_8x8.hpp) and the
// row ends of detail/avx_row_ends.hpp (gemm_nt_few_rows_available); elsewhere callers copy B^T and
// call gemm.
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "farbound/core/host_device.hpp"
#include "farbound/detail/transpose_16x16.hpp"
#include "farbound/detail/avx_row_ends.hpp"
#include "farbound/nn/detail/gemm.hpp"
#include "farbound/detail/transpose_8x8.hpp"

namespace farbound::detail {

// Rows of C up to which gemm_nt_few_rows runs (measured against the copy and gemm:
// docs/performance.md).
inline constexpr std::int64_t gemm_nt_few_rows_max = 8;

template <class T>
inline constexpr bool gemm_nt_few_rows_available =
#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
    std::is_same_v<T, float>;
#else
    false;
#endif

#if defined(__AVX512F__)
namespace gemm_nt_few_rows_impl {

// Columns of C per block: the floats of one register.
inline constexpr std::int64_t block_columns = 16;

// Rows [0, MR) of C, columns [n0, n0 + 16) (only the first `cols` exist).
template <int MR>
void column_block(std::int64_t K, const float* A, std::int64_t lda, const float* B, std::int64_t ldb, std::int64_t cols,
                  float* C, std::int64_t ldc, GemmOutput output) {
  const __mmask16 col_mask = __mmask16((1u << cols) - 1);
  __m512 acc[MR];
  FARBOUND_UNROLL for (int m = 0; m < MR; ++m)
    acc[m] = output == GemmOutput::accumulate ? _mm512_maskz_loadu_ps(col_mask, C + m * ldc) : _mm512_setzero_ps();
  for (std::int64_t k0 = 0; k0 < K; k0 += 16) {
    const std::int64_t ks = std::min<std::int64_t>(16, K - k0);
    const __mmask16 k_mask = __mmask16((1u << ks) - 1);
    __m512 b[16];
    FARBOUND_UNROLL for (int i = 0; i < 16; ++i)
      b[i] = i < cols ? _mm512_maskz_loadu_ps(k_mask, B + i * ldb + k0) : _mm512_setzero_ps();
    transpose_16x16(b);  // b[j]: B[n0 + i][k0 + j] in lane i
    // A full block's count known at compile time, so that its loop unrolls.
    const auto add_columns = [&](auto count) {
      for (std::int64_t j = 0; j < count; ++j)
        FARBOUND_UNROLL for (int m = 0; m < MR; ++m)
          acc[m] = _mm512_fmadd_ps(_mm512_set1_ps(A[m * lda + k0 + j]), b[j], acc[m]);
    };
    if (ks == 16) add_columns(std::integral_constant<std::int64_t, 16>{});
    else add_columns(ks);
  }
  FARBOUND_UNROLL for (int m = 0; m < MR; ++m) _mm512_mask_storeu_ps(C + m * ldc, col_mask, acc[m]);
}

}  // namespace gemm_nt_few_rows_impl
#elif defined(__AVX2__) && defined(__FMA__)
namespace gemm_nt_few_rows_impl {

inline constexpr std::int64_t block_columns = 8;

// Rows [0, MR) of C, columns [n0, n0 + 8) (only the first `cols` exist).
template <int MR>
void column_block(std::int64_t K, const float* A, std::int64_t lda, const float* B, std::int64_t ldb, std::int64_t cols,
                  float* C, std::int64_t ldc, GemmOutput output) {
  __m256 acc[MR];
  FARBOUND_UNROLL for (int m = 0; m < MR; ++m)
    acc[m] = output == GemmOutput::accumulate ? load_first(C + m * ldc, cols) : _mm256_setzero_ps();
  for (std::int64_t k0 = 0; k0 < K; k0 += 8) {
    const std::int64_t ks = std::min<std::int64_t>(8, K - k0);
    __m256 b[8];
    FARBOUND_UNROLL for (int i = 0; i < 8; ++i)
      b[i] = i >= cols ? _mm256_setzero_ps() : ks == 8 ? _mm256_loadu_ps(B + i * ldb + k0) : load_first(B + i * ldb + k0, ks);
    transpose_8x8(b);  // b[j]: B[n0 + i][k0 + j] in lane i
    const auto add_columns = [&](auto count) {
      for (std::int64_t j = 0; j < count; ++j)
        FARBOUND_UNROLL for (int m = 0; m < MR; ++m)
          acc[m] = _mm256_fmadd_ps(_mm256_set1_ps(A[m * lda + k0 + j]), b[j], acc[m]);
    };
    if (ks == 8) add_columns(std::integral_constant<std::int64_t, 8>{});
    else add_columns(ks);
  }
  FARBOUND_UNROLL for (int m = 0; m < MR; ++m) store_first(C + m * ldc, acc[m], cols);
}

}  // namespace gemm_nt_few_rows_impl
#endif

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
namespace gemm_nt_few_rows_impl {

template <int MR>
void run(std::int64_t N, std::int64_t K, const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float* C,
         std::int64_t ldc, GemmOutput output) {
  for (std::int64_t n0 = 0; n0 < N; n0 += block_columns)
    column_block<MR>(K, A, lda, B + n0 * ldb, ldb, std::min(block_columns, N - n0), C + n0, ldc, output);
}

template <int MR = int(gemm_nt_few_rows_max)>
void dispatch(std::int64_t M, std::int64_t N, std::int64_t K, const float* A, std::int64_t lda, const float* B,
              std::int64_t ldb, float* C, std::int64_t ldc, GemmOutput output) {
  if constexpr (MR > 1) {
    if (M < MR) return dispatch<MR - 1>(M, N, K, A, lda, B, ldb, C, ldc, output);
  }
  run<MR>(N, K, A, lda, B, ldb, C, ldc, output);
}

}  // namespace gemm_nt_few_rows_impl
#endif

// C[M, N] (+)= A B^T, A: M rows of K (row m at A + m * lda), B: N rows of K (row n at
// B + n * ldb), for 1 <= M <= gemm_nt_few_rows_max, where gemm_nt_few_rows_available<T>.
template <class T>
void gemm_nt_few_rows(std::int64_t M, std::int64_t N, std::int64_t K, const T* A, std::int64_t lda, const T* B,
                      std::int64_t ldb, T* C, std::int64_t ldc, GemmOutput output) {
  static_assert(gemm_nt_few_rows_available<T>, "gemm_nt_few_rows: AVX-512 or AVX2 + FMA floats only");
#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
  gemm_nt_few_rows_impl::dispatch(M, N, K, A, lda, B, ldb, C, ldc, output);
#endif
}

}  // namespace farbound::detail
