#pragma once
// The packed GEMM: C (+)= A B for products large enough to pay for copying their operands.
//
// Goto/BLIS blocking. C is cut into row blocks of MC and K into blocks of KC; for each
// (row block, k block) the MC x KC piece of A is copied ("packed") into MR-row slivers, kc
// columns of MR numbers each; then for every column block of NC the KC x NC piece of B is
// packed into NR-column slivers, kc rows of NR consecutive numbers each; then the
// micro-kernel (gemm_kernel.hpp) multiplies each MR-row sliver of A by every NR-column sliver
// of B in turn into an MR x NR tile of C. With KC = 256 floats an A sliver (12 KB on AVX-512)
// stays in L1 while the B slivers (32 KB each) stream past it from L2, where the packed B
// block (256 x 480, 480 KB; fewer columns where the L2 is under 960 KB) stays; the packed A
// block (up to 3072 x 256) streams from L3.
// (The other way round, a B sliver in L1 and a packed B block of 256 x 3072 in L3, products
// with 64-128 rows of C ran 1.1-1.3x slower on an Intel Xeon core: docs/performance.md.)
// Packed slivers are read in exactly the order the kernel needs them, whatever the layout of
// the operands: strides, transposes and convolution windows are paid once, in the packing,
// and the micro-kernel is the same for every product.
//
// Operands are "packers" (free functions pack_a / pack_b below, overloaded on the operand
// type): anything that can write an MR-row sliver of A or an NR-column sliver of B, zero
// padded past the matrix edge, can be multiplied. C is reached through a layout (StridedC,
// or a convolution's item layout) that says where element (m, n) lives; tiles that fall off
// C's edge or straddle a discontinuity of the layout go through a small tile on the stack.
//
// Exactness: K blocks continue each element's fma chain through C (the tile is loaded back
// when pc > 0), so every element is the chain described in gemm_kernel.hpp, identical to
// the unpacked path's. Threads split C into column (or row) blocks, never K.
//
// Packing buffers are per thread, of a fixed size, made on a thread's first packed product
// and reused for the rest of the process: no allocation in a steady-state step.
#include <algorithm>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "farbound/core/parallel.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/detail/cache_sizes.hpp"
#include "farbound/nn/detail/gemm_kernel.hpp"
#include "farbound/nn/detail/transpose.hpp"

namespace farbound::detail {

// Row-major C: element (m, n) at data[m * ldc + n].
template <class T>
struct StridedC {
  T* data;
  std::int64_t ldc;

  T* at(std::int64_t m, std::int64_t n) const { return data + m * ldc + n; }
  std::int64_t row_stride() const { return ldc; }
  bool contiguous(std::int64_t, std::int64_t) const { return true; }
};

// B(k, n) = rows[n][k]: the second operand of A B^T given by its rows along k.
template <class Rows>
struct Transposed {
  Rows rows;
};

namespace gemm_impl {

// Half the L2 cache of a core, as the C library reports it (256 KB to 4 MB; 512 KB where it
// does not say): what a product's B may fill and stay in L2 beside A's rows and C's tiles,
// packed (a column block, below) or streamed (gemm_packs in gemm.hpp).
inline std::int64_t l2_share_bytes() {
  static const std::int64_t bytes = [] {
    const std::int64_t l2 = reported_cache_bytes(2);
    return l2 > 0 ? std::clamp(l2 / 2, std::int64_t(256) << 10, std::int64_t(4) << 20) : std::int64_t(512) << 10;
  }();
  return bytes;
}

// Cache blocks (in elements; multiples of the register tile): block_k and block_m fixed, and
// block_n columns at most. 480 was timed on a 2 MB L2 (an Intel Xeon; 384 and 768 the same,
// 192 3-8 % slower: docs/performance.md); its 480 KB block would fill a 512 KB L2 (the AVX2
// Zen 3), so block_columns keeps it within l2_share_bytes(): 256 columns there, 480 on 1 MB
// and up.
inline constexpr std::int64_t block_k = 256, block_m = 3072, block_n = 480;
static_assert(block_m % packed_rows == 0);
template <class T>
std::int64_t block_columns() {
  constexpr std::int64_t NR = packed_cols<T>;
  static const std::int64_t columns =
      std::clamp(l2_share_bytes() / (block_k * std::int64_t(sizeof(T))) / NR * NR, 4 * NR, block_n);
  return columns;
}

template <class T>
struct PackingBuffers {
  Tensor<T> a{Shape{block_m * block_k}};
  Tensor<T> b{Shape{block_k * block_n}};
};

template <class T>
PackingBuffers<T>& packing_buffers() {
  thread_local PackingBuffers<T> buffers;
  return buffers;
}

}  // namespace gemm_impl

// ---- Packers. pack_a: rows [m0, m0 + rows) x k in [k0, k0 + kc) of A as kc groups of MR
// numbers (rows past `rows` zero). pack_b: k in [k0, k0 + kc) x columns [n0, n0 + cols) of B
// as kc groups of NR numbers (columns past `cols` zero), for the operands other than B by
// rows (StridedRows, OffsetRows), which pack_b_block packs a whole block of at once.

// A(m, k) = data[m * row_stride + k * col_stride]: any strides, so A or A^T of a row-major matrix.
template <class T>
struct StridedMatrix {
  const T* data;
  std::int64_t row_stride, col_stride;

  StridedMatrix from_row(std::int64_t m) const { return {data + m * row_stride, row_stride, col_stride}; }
  // Stored column by column (the transpose of a row-major matrix).
  bool by_columns() const { return row_stride == 1 && col_stride != 1; }
};

// dst[k * width + j] = rows[first + j][k0 + k] for j < count, 0 for count <= j < width: a
// sliver of operand rows that run along k, laid out across (gemm_nt's A, a Transposed B).
// Rows a fixed stride apart go by register transposes (Winograd's V^T: element by element,
// this copy was a third of its weight-gradient product).
template <class T, class Rows>
void pack_rows_across(const Rows& rows, std::int64_t first, std::int64_t count, std::int64_t k0, std::int64_t kc, T* dst,
                      std::int64_t width) {
  if constexpr (requires { rows.stride; }) {
    transpose_strided(rows[first] + k0, rows.stride, count, kc, dst, width, width);
  } else {
    for (std::int64_t j = 0; j < width; ++j) {
      if (j >= count) {
        for (std::int64_t k = 0; k < kc; ++k) dst[k * width + j] = T(0);
        continue;
      }
      const T* src = rows[first + j] + k0;
      for (std::int64_t k = 0; k < kc; ++k) dst[k * width + j] = src[k];
    }
  }
}

template <class T>
void pack_a(const StridedMatrix<T>& A, std::int64_t m0, int rows, std::int64_t k0, std::int64_t kc, T* dst) {
  constexpr int MR = gemm_impl::packed_rows;
  // A row-major A (most products) is a transpose of the sliver: by register blocks.
  if (A.col_stride == 1)
    return transpose_strided(A.data + m0 * A.row_stride + k0, A.row_stride, std::int64_t(rows), kc, dst, MR, MR);
  for (int i = 0; i < MR; ++i) {
    if (i >= rows) {
      for (std::int64_t k = 0; k < kc; ++k) dst[k * MR + i] = T(0);
      continue;
    }
    const T* src = A.data + (m0 + i) * A.row_stride + k0 * A.col_stride;
    for (std::int64_t k = 0; k < kc; ++k) dst[k * MR + i] = src[k * A.col_stride];
  }
}

// A(m, k) = rows[m][k] (gemm_nt's first operand).
template <class T, class Rows, class = decltype(std::declval<const Rows&>()[0])>
void pack_a(const Rows& A, std::int64_t m0, int rows, std::int64_t k0, std::int64_t kc, T* dst) {
  pack_rows_across(A, m0, rows, k0, kc, dst, gemm_impl::packed_rows);
}

template <class T, class Rows>
void pack_b(const Transposed<Rows>& B, std::int64_t k0, std::int64_t kc, std::int64_t n0, int cols, T* dst) {
  pack_rows_across(B.rows, n0, cols, k0, kc, dst, gemm_impl::packed_cols<T>);
}

// A block whose k-th run of `count` numbers starts at run(k), k < kc, as slivers `width`
// numbers across (sliver s at dst + s * width * kc, numbers past count zero), run by run,
// each run copied into every sliver, with the run `ahead` k later prefetched. For the blocks
// whose runs lie a row of a large matrix apart, too short for the hardware's prefetcher to
// follow from memory, where pack_a / pack_b would walk down each sliver's column of runs:
// - a column-major A (the transpose of a row-major matrix: Winograd's U^T in the input
//   gradient): element by element down the rows, ResNet9's step was 5-8 % slower, and
//   without the prefetches the 512 -> 512 layer's input-gradient products took 13.7-14.0 ms
//   on two Intel Xeon cores against 10.6-11.4;
// - B by rows: sliver by sliver, each step a new page, B was read at the 7-8 GB/s that the
//   memory's latency allows one core (64 x 32768 x 288, B 38 MB, on an Intel Xeon core:
//   88 % of Eigen's rate, 111-117 % a row at a time; docs/performance.md).
template <std::int64_t width, class T, class Run>
void pack_runs(Run run, std::int64_t count, std::int64_t kc, T* dst) {
  constexpr std::int64_t ahead = 8, line = 64 / sizeof(T);
  for (std::int64_t k = 0; k < kc; ++k) {
    const T* src = run(k);
    if (k + ahead < kc) {
      const T* next = run(k + ahead);
      for (std::int64_t i = 0; i < count; i += line) __builtin_prefetch(next + i);
    }
    for (std::int64_t s = 0; s < count; s += width) {
      T* d = dst + s * kc + k * width;
      const std::int64_t numbers = std::min(width, count - s);
      if (numbers == width) {
        std::memcpy(d, src + s, sizeof(T) * width);  // a few vector moves
      } else {
        for (std::int64_t i = 0; i < width; ++i) d[i] = i < numbers ? src[s + i] : T(0);
      }
    }
  }
}

// Rows [m0, m0 + mc) x k in [k0, k0 + kc) of A as MR-row slivers (pack_a), sliver s at
// dst + s * MR * kc.
template <class T, class AOp>
void pack_a_block(const AOp& A, std::int64_t m0, std::int64_t mc, std::int64_t k0, std::int64_t kc, T* dst) {
  constexpr int MR = gemm_impl::packed_rows;
  if constexpr (std::is_same_v<AOp, StridedMatrix<T>>) {
    if (A.by_columns())
      return pack_runs<MR>([&](std::int64_t k) { return A.data + m0 + (k0 + k) * A.col_stride; }, mc, kc, dst);
  }
  for (std::int64_t ir = 0; ir < mc; ir += MR)
    pack_a(A, m0 + ir, int(std::min<std::int64_t>(MR, mc - ir)), k0, kc, dst + ir * kc);
}

// k in [k0, k0 + kc) x columns [n0, n0 + nc) of B as NR-column slivers (pack_b), sliver s
// at dst + s * NR * kc: B by rows a row at a time (pack_runs), other operands sliver by sliver.
template <class T, class BOp>
void pack_b_block(const BOp& B, std::int64_t k0, std::int64_t kc, std::int64_t n0, std::int64_t nc, T* dst) {
  constexpr std::int64_t NR = gemm_impl::packed_cols<T>;
  if constexpr (requires { { B[k0] } -> std::convertible_to<const T*>; }) {
    pack_runs<NR>([&](std::int64_t k) { return B[k0 + k] + n0; }, nc, kc, dst);
  } else {
    for (std::int64_t jr = 0; jr < nc; jr += NR)
      pack_b(B, k0, kc, n0 + jr, int(std::min(NR, nc - jr)), dst + jr * kc);
  }
}

// C[m_begin:m_end, n_begin:n_end] (+)= A B over the whole of K, on the calling thread.
template <class T, class AOp, class BOp, class COp>
void packed_gemm(std::int64_t m_begin, std::int64_t m_end, std::int64_t n_begin, std::int64_t n_end, std::int64_t K,
                 const AOp& A, const BOp& B, const COp& C, bool accumulate) {
  using namespace gemm_impl;
  constexpr int MR = packed_rows;
  constexpr std::int64_t NR = packed_cols<T>;
  static_assert(block_n % NR == 0);
  if (K == 0) {
    if (!accumulate)
      for (std::int64_t m = m_begin; m < m_end; ++m)
        for (std::int64_t n = n_begin; n < n_end; ++n) *C.at(m, n) = T(0);
    return;
  }
  // K blocks of equal length (K = 288: 144 + 144, not 256 + 32, whose tile loads and stores
  // would cost as much as its 32 steps).
  const std::int64_t k_step = chunk_count(K, chunk_count(K, block_k));
  const std::int64_t columns = block_columns<T>();
  auto& buffers = packing_buffers<T>();
  T* const packed_a = buffers.a.data();
  T* const packed_b = buffers.b.data();
  alignas(64) T edge[MR * NR];
  for (std::int64_t ic = m_begin; ic < m_end; ic += block_m) {
    const std::int64_t mc = std::min(block_m, m_end - ic);
    for (std::int64_t pc = 0; pc < K; pc += k_step) {
      const std::int64_t kc = std::min(k_step, K - pc);
      const bool load_c = accumulate || pc > 0;
      pack_a_block(A, ic, mc, pc, kc, packed_a);
      for (std::int64_t jc = n_begin; jc < n_end; jc += columns) {
        const std::int64_t nc = std::min(columns, n_end - jc);
        pack_b_block(B, pc, kc, jc, nc, packed_b);
        for (std::int64_t ir = 0; ir < mc; ir += MR) {
          const std::int64_t m = ic + ir, rows = std::min<std::int64_t>(MR, mc - ir);
          const T* a = packed_a + ir * kc;
          for (std::int64_t jr = 0; jr < nc; jr += NR) {
            const std::int64_t n = jc + jr, cols = std::min(NR, nc - jr);
            const T* b = packed_b + jr * kc;
            if (cols == NR && C.contiguous(n, NR)) {
              packed_tile_rows(int(rows), kc, a, b, C.at(m, n), C.row_stride(), load_c);
              continue;
            }
            for (std::int64_t i = 0; i < rows && load_c; ++i)
              for (std::int64_t j = 0; j < cols; ++j) edge[i * NR + j] = *C.at(m + i, n + j);
            packed_tile(kc, a, b, edge, NR, load_c);
            for (std::int64_t i = 0; i < rows; ++i)
              for (std::int64_t j = 0; j < cols; ++j) *C.at(m + i, n + j) = edge[i * NR + j];
          }
        }
      }
    }
  }
}

// packed_gemm over all of C with the threads splitting C into blocks: columns when there
// are enough of them (each thread then packs its own part of B and reuses it over all of M),
// else rows. Block edges fall on whole tiles.
template <class T, class AOp, class BOp, class COp>
void parallel_packed_gemm(std::int64_t M, std::int64_t N, std::int64_t K, const AOp& A, const BOp& B, const COp& C,
                          bool accumulate) {
  constexpr std::int64_t MR = gemm_impl::packed_rows, NR = gemm_impl::packed_cols<T>;
  const std::int64_t threads = max_threads();
  const std::int64_t col_tiles = chunk_count(N, NR), row_tiles = chunk_count(M, MR);
  if (col_tiles >= 2 * threads || col_tiles >= row_tiles) {
    const std::int64_t per = chunk_count(col_tiles, threads) * NR;
    parallel_for(chunk_count(N, per), [&](std::int64_t b) {
      packed_gemm<T>(0, M, b * per, std::min(N, (b + 1) * per), K, A, B, C, accumulate);
    });
  } else {
    const std::int64_t per = chunk_count(row_tiles, threads) * MR;
    parallel_for(chunk_count(M, per), [&](std::int64_t b) {
      packed_gemm<T>(b * per, std::min(M, (b + 1) * per), 0, N, K, A, B, C, accumulate);
    });
  }
}

}  // namespace farbound::detail
