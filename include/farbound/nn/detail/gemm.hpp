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
// Two paths compute the same numbers (gemm_kernel.hpp: every element is one fma chain over
// k = 0 .. K-1 from zero or, when accumulating, from the old C), chosen by shape alone
// (gemm_impl::worth_packing, and gemm_packs for gemm):
//
// - Large products go to the packed GEMM (packed_gemm.hpp): operands copied into cache-sized
//   panels, a 6 x 16 (AVX2) or 12 x 32 (AVX-512) register-tiled micro-kernel.
// - Products with few rows of C (LeNet's 6- and 16-channel convolutions, per image), or with
//   a B that stays in the L2 cache (LeNet's dense layers), run unpacked: "broadcast A, stream
//   B", a register tile of MR rows by NR SIMD vectors of C in registers for the whole k loop;
//   each step loads NR vectors of row k of B, broadcasts MR elements of A and issues MR*NR
//   fused multiply-adds. Columns that do not fill a tile run as one tile of their whole
//   vectors, floats' last few as a masked vector in it (AVX, AVX-512); else as one narrower
//   vector of each width the target has, then one at a time (std::fma), so every element is
//   still one chain on targets with FMA.
//
// Since the bits depend neither on the tile an element falls into nor on how C is split,
// callers may split C between threads any way they like: results never depend on the thread
// count.
//
// Small gemm_nt products vectorise along k instead: a tile of 4 x 4 accumulators loads 8
// vectors per 16 fmas; each accumulator is reduced by one horizontal add, then the last
// K mod width terms are added with scalar fmas. Each element's arithmetic depends only on K
// (and on the shape's path: the packed path sums in the plain chain order).
//
// No allocation: the unpacked paths need no workspace, the packed path's buffers are made
// once per thread.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <utility>

#include <xsimd/xsimd.hpp>

#include "farbound/core/host_device.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/detail/lane_types.hpp"
#include "farbound/nn/detail/gemm_kernel.hpp"
#include "farbound/nn/detail/gemm_nt_tile.hpp"
#include "farbound/nn/detail/packed_gemm.hpp"

namespace farbound::detail {

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

namespace gemm_impl {

// gemm register tile: rows [0, MR) x columns [0, NR * width) of C at c. The MR * NR
// accumulators are a lambda's parameters (acc number t = i * NR + j is row i, vector j), not
// an array: GCC keeps an array of vectors in registers only inside the k loop and parks it
// on the stack before and after, four extra loads and stores per accumulator and tile, which
// cost as much as the fmas at short K.
template <class V, int MR, int NR, class T, class BRows, class Last, std::size_t... I>
inline void tile_chains(std::int64_t K, StridedMatrix<T> A, BRows B, T* c, std::int64_t ldc, GemmOutput output,
                        Last last, std::index_sequence<I...>) {
  using L = Lanes<V, T>;
  // By value: with references, every store to C could have changed c and ldc, and GCC
  // reloaded them through the closure before each of the tile's stores.
  const auto at = [c, ldc](std::size_t t) { return c + std::int64_t(t / NR) * ldc + std::int64_t(t % NR) * L::width; };
  // Accumulator t's vector of C: the tile's last vector through `last`, which may be partial.
  const auto load_c = [at, last](std::size_t t) { return t % NR == NR - 1 ? last.load(at(t)) : L::load(at(t)); };
  const auto store_c = [at, last](const V& v, std::size_t t) {
    if (t % NR == NR - 1) last.store(v, at(t));
    else L::store(v, at(t));
  };
  [=](auto... acc) {
    for (std::int64_t k = 0; k < K; ++k) {
      const T* bk_row = B[k];
      V bk[NR];
      FARBOUND_UNROLL for (int j = 0; j < NR - 1; ++j) bk[j] = L::load(bk_row + j * L::width);
      bk[NR - 1] = last.load(bk_row + (NR - 1) * L::width);
      ((acc = L::fma(V(A.data[std::int64_t(I / NR) * A.row_stride + k * A.col_stride]), bk[I % NR], acc)), ...);
    }
    (store_c(acc, I), ...);
  }((output == GemmOutput::accumulate ? load_c(I) : V(T(0)))...);
}

// A register tile of MR rows by NR vectors; its last vector's columns through `last`, whole
// (Lanes) or the partial vector where C's columns end (PartialLanes).
template <class V, int MR, int NR, class T, class BRows, class Last>
inline void tile(std::int64_t K, StridedMatrix<T> A, BRows B, T* c, std::int64_t ldc, GemmOutput output, Last last) {
  tile_chains<V, MR, NR>(K, A, B, c, ldc, output, last, std::make_index_sequence<std::size_t(MR * NR)>{});
}

// A column panel of width NR * width over all M rows, MR rows at a time.
template <class V, int MR, int NR, class T, class BRows, class Last = Lanes<V, T>>
void panel(std::int64_t M, std::int64_t K, StridedMatrix<T> A, BRows B, T* c, std::int64_t ldc, GemmOutput output,
           Last last = {}) {
  std::int64_t m = 0;
  for (; m + MR <= M; m += MR) tile<V, MR, NR>(K, A.from_row(m), B, c + m * ldc, ldc, output, last);
  if constexpr (MR > 1) {
    if (m < M) panel<V, MR - 1, NR>(M - m, K, A.from_row(m), B, c + m * ldc, ldc, output, last);
  }
}

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

// A panel of nr <= NR vectors, the last through `last` (see tile): one tile over all of them
// has nr times the independent chains of one tile per vector (one vector's 6 chains leave the
// fma units waiting on their latency).
template <class V, int NR, class T, class BRows, class Last = Lanes<V, T>>
void vector_panel(int nr, std::int64_t M, std::int64_t K, StridedMatrix<T> A, BRows B, T* c, std::int64_t ldc,
                  GemmOutput output, Last last = {}) {
  if constexpr (NR > 1) {
    if (nr < NR) return vector_panel<V, NR - 1>(nr, M, K, A, B, c, ldc, output, last);
  }
  panel<V, tile_rows, NR>(M, K, A, B, c, ldc, output, last);
}

// Products with K <= short_k (a dense layer's weight gradient at batch 1 or 2: C += g^T x)
// do K fmas per load and store of C, so C's traffic is all the work. This walks C row by
// row, one contiguous stream, four vectors at a time, with row m's K numbers of A broadcast
// once; the register tiles' MR rows lie ldc apart and each tile sets up its K loop for a few
// steps. LeNet's 400 -> 120 dense backward at batch 2: 5.9-6.1 us this way, 6.5-6.7 through
// the tiles. Columns past the last whole vector go to column_tail. Same chains, same bits.
inline constexpr std::int64_t short_k = 4;

template <int K, class T, class BRows>
void short_k_rows(std::int64_t M, std::int64_t N, StridedMatrix<T> A, BRows B, T* C, std::int64_t ldc, GemmOutput output) {
  using V = xsimd::batch<T>;
  constexpr std::int64_t W = V::size;
  const T* b[K];
  FARBOUND_UNROLL for (int k = 0; k < K; ++k) b[k] = B[k];
  const bool accumulate = output == GemmOutput::accumulate;
  for (std::int64_t m = 0; m < M; ++m) {
    V a[K];
    FARBOUND_UNROLL for (int k = 0; k < K; ++k) a[k] = V(A.data[m * A.row_stride + k * A.col_stride]);
    T* c = C + m * ldc;
    const auto start = [&](std::int64_t n) { return accumulate ? V::load_unaligned(c + n) : V(T(0)); };
    std::int64_t n = 0;
    for (; n + 4 * W <= N; n += 4 * W) {
      V c0 = start(n), c1 = start(n + W), c2 = start(n + 2 * W), c3 = start(n + 3 * W);
      FARBOUND_UNROLL for (int k = 0; k < K; ++k) {
        c0 = fused_multiply_add(a[k], V::load_unaligned(b[k] + n), c0);
        c1 = fused_multiply_add(a[k], V::load_unaligned(b[k] + n + W), c1);
        c2 = fused_multiply_add(a[k], V::load_unaligned(b[k] + n + 2 * W), c2);
        c3 = fused_multiply_add(a[k], V::load_unaligned(b[k] + n + 3 * W), c3);
      }
      c0.store_unaligned(c + n);
      c1.store_unaligned(c + n + W);
      c2.store_unaligned(c + n + 2 * W);
      c3.store_unaligned(c + n + 3 * W);
    }
    for (; n + W <= N; n += W) {
      V c0 = start(n);
      FARBOUND_UNROLL for (int k = 0; k < K; ++k) c0 = fused_multiply_add(a[k], V::load_unaligned(b[k] + n), c0);
      c0.store_unaligned(c + n);
    }
  }
  column_tail<T, W / 2>(N - N % W, M, N, K, A, B, C, ldc, output);
}

// Calls short_k_rows<k> for the run-time k = K <= KMax.
template <int KMax = short_k, class T, class BRows>
void short_k_dispatch(std::int64_t M, std::int64_t N, std::int64_t K, StridedMatrix<T> A, BRows B, T* C,
                      std::int64_t ldc, GemmOutput output) {
  if constexpr (KMax > 1) {
    if (K < KMax) return short_k_dispatch<KMax - 1>(M, N, K, A, B, C, ldc, output);
  }
  short_k_rows<KMax>(M, N, A, B, C, ldc, output);
}

// gemm without packing: for products with few rows of C (see worth_packing).
template <class T, class BRows>
void streamed_gemm(std::int64_t M, std::int64_t N, std::int64_t K, StridedMatrix<T> A, BRows B, T* C, std::int64_t ldc,
                   GemmOutput output) {
  using V = xsimd::batch<T>;
  constexpr std::int64_t W = V::size;
  if (K >= 1 && K <= short_k) return short_k_dispatch(M, N, K, A, B, C, ldc, output);
  std::int64_t n = 0;
  for (; n + tile_vectors * W <= N; n += tile_vectors * W)
    panel<V, tile_rows, tile_vectors>(M, K, A, B.from_col(n), C + n, ldc, output);
  const std::int64_t vectors_left = (N - n) / W;
#if defined(__AVX__)
  // Floats' last columns as one masked vector beside the whole ones, in the same tiles: at
  // M = 64, K = 400 on Zen 4 a remainder of 2 to 15 columns ran 1.06-1.9x faster so than in
  // the narrower tails below (2 to 7 columns built for AVX2: 1.05-3.8x), LeNet's conv2 (16 x
  // 100 x 150 per image) 66 -> 87 GFLOP/s. Not for one column (a whole vector's work for it:
  // 73 -> 44 at N = 17), nor for half of an AVX-512 vector, which the tail runs as one whole
  // AVX register (103 -> 67 masked at N = 24; docs/performance.md).
  if constexpr (std::is_same_v<T, float>) {
    const std::int64_t columns_left = (N - n) % W;
    if (columns_left >= 2 && !(W == 16 && columns_left == 8))
      return vector_panel<V, tile_vectors>(int(vectors_left) + 1, M, K, A, B.from_col(n), C + n, ldc, output,
                                           PartialLanes(std::size_t(columns_left)));
  }
#endif
  if (vectors_left > 0) vector_panel<V, tile_vectors - 1>(int(vectors_left), M, K, A, B.from_col(n), C + n, ldc, output);
  n += vectors_left * W;
  column_tail<T, W / 2>(n, M, N, K, A, B, C, ldc, output);
}

// Packing copies K x N numbers of B (and M x K of A) to run the micro-kernel at full speed;
// it pays once C has a few packed row slivers to reuse each B sliver on and K is long
// enough for the kernel to amortise its tile loads and stores. Measured with
// benchmarks/gemm (docs/performance.md); at K = 16 (LeNet's second convolution's input
// gradient, 150 x 144 x 16 per image) the streamed kernel is 1.3x faster.
inline bool worth_packing(std::int64_t M, std::int64_t N, std::int64_t K) {
  return M >= 4 * packed_rows && N >= 16 && K >= 32;
}

// gemm packs as worth_packing says, but for a B of up to l2_share_bytes(): the streamed
// kernel reads each panel of B (K x 64 floats on AVX-512) once per tile of rows, from the L2
// cache while all of B stays there, and packing saves nothing but costs its copies. On a Zen 4
// core (1 MB of L2) the streamed kernel was 1.1-1.3x faster at every shape tried from 30 KB to
// 3 MB of B (M = 48-512; LeNet's dense 400 -> 120 at batch 64 84 -> 113 GFLOP/s), on two cores
// 1.0-1.4x; built for AVX2, 1.1-1.3x up to 800 KB, 1.0 at 1 and 3 MB. On an Intel Xeon core (2
// MB of L2), against the packed path with its B block in L2, 1 MB of B streamed at 159-160
// GFLOP/s against 108-151 packed, 2 MB at 71-136 against 135-155. Hence half the L2, so that
// A's rows fit beside B (docs/performance.md). An A stored by columns (the Winograd input
// gradient's U^T) must fit beside B too: the tiles broadcast its numbers a column apart, a new
// cache line at every step, and with A past the L2 the streamed path lost its lead (512 x 128
// x 512, A 1 MB: 145 against 147 GFLOP/s packed on the Xeon core, where A by rows streams at
// 183; ResNet9's step 6 % slower).
template <class T>
bool gemm_packs(std::int64_t M, std::int64_t N, std::int64_t K, const StridedMatrix<T>& A) {
  const std::int64_t streamed_numbers = l2_share_bytes() / std::int64_t(sizeof(T));
  return worth_packing(M, N, K) && (K * N > streamed_numbers || (A.by_columns() && M * K + K * N > streamed_numbers));
}

// Below about a million multiply-adds (~20 us) a parallel region costs more than it saves.
inline constexpr std::int64_t min_parallel_work = std::int64_t(1) << 20;

}  // namespace gemm_impl

// C[M, N] = A B or C += A B, B given by rows (see the top of this file).
template <class T, class BRows>
void gemm(std::int64_t M, std::int64_t N, std::int64_t K, StridedMatrix<T> A, BRows B, T* C, std::int64_t ldc,
          GemmOutput output) {
  if (gemm_impl::gemm_packs<T>(M, N, K, A))
    packed_gemm<T>(0, M, 0, N, K, A, B, StridedC<T>{C, ldc}, output == GemmOutput::accumulate);
  else
    gemm_impl::streamed_gemm<T>(M, N, K, A, B, C, ldc, output);
}

// C[m, n] (+)= sum_k A[m][k] B[n][k] (see the top of this file).
template <class T, class ARows, class BRows>
void gemm_nt(std::int64_t M, std::int64_t N, std::int64_t K, ARows A, BRows B, T* C, std::int64_t ldc,
             GemmOutput output) {
  using namespace gemm_impl;
  if (worth_packing(M, N, K))
    return packed_gemm<T>(0, M, 0, N, K, A, Transposed<BRows>{B}, StridedC<T>{C, ldc}, output == GemmOutput::accumulate);
  for (std::int64_t m = 0; m < M; m += nt_rows)
    for (std::int64_t n = 0; n < N; n += nt_cols)
      nt_tile_dispatch(int(std::min<std::int64_t>(nt_rows, M - m)), int(std::min<std::int64_t>(nt_cols, N - n)), K,
                       A.from_row(m), B.from_row(n), C + m * ldc + n, ldc, output);
}

// streamed_gemm with C split into fixed blocks that run in parallel (when there is enough
// work). The blocks depend only on M and N; with the property above they do not even matter.
// Blocks of two tiles of rows, the rows' blocks inner: with four tiles and the columns' blocks
// inner, M = 32 made blocks of 24 and 8 rows, and the static split gave one thread every
// 24-row block (32 x 32768 x 27 on two threads 119 -> 157 GFLOP/s; M = 64, N = 120 made three
// blocks for two threads, 143 -> 189; docs/performance.md).
template <class T, class BRows>
void parallel_streamed_gemm(std::int64_t M, std::int64_t N, std::int64_t K, StridedMatrix<T> A, BRows B, T* C,
                            std::int64_t ldc, GemmOutput output) {
  constexpr std::int64_t block_rows = 2 * gemm_impl::tile_rows;
  constexpr std::int64_t block_cols = 8 * gemm_impl::tile_vectors * std::int64_t(xsimd::batch<T>::size);
  const std::int64_t row_blocks = chunk_count(M, block_rows), col_blocks = chunk_count(N, block_cols);
  const auto run_block = [&](std::int64_t b) {
    const std::int64_t m = (b % row_blocks) * block_rows, n = (b / row_blocks) * block_cols;
    gemm_impl::streamed_gemm(std::min(block_rows, M - m), std::min(block_cols, N - n), K, A.from_row(m), B.from_col(n),
                             C + m * ldc + n, ldc, output);
  };
  if (M * N * K < gemm_impl::min_parallel_work) {
    for (std::int64_t b = 0; b < row_blocks * col_blocks; ++b) run_block(b);
  } else {
    parallel_for(row_blocks * col_blocks, run_block);
  }
}

// gemm split over threads: packed (parallel_packed_gemm) or in streamed blocks, as gemm
// chooses.
template <class T, class BRows>
void parallel_gemm(std::int64_t M, std::int64_t N, std::int64_t K, StridedMatrix<T> A, BRows B, T* C,
                   std::int64_t ldc, GemmOutput output) {
  if (!gemm_impl::gemm_packs<T>(M, N, K, A)) return parallel_streamed_gemm<T>(M, N, K, A, B, C, ldc, output);
  const bool accumulate = output == GemmOutput::accumulate;
  if (M * N * K < gemm_impl::min_parallel_work) packed_gemm<T>(0, M, 0, N, K, A, B, StridedC<T>{C, ldc}, accumulate);
  else parallel_packed_gemm<T>(M, N, K, A, B, StridedC<T>{C, ldc}, accumulate);
}

}  // namespace farbound::detail
