#pragma once
// Moving the rows of W anchors (W = the width of xsimd::batch<T>) to and from W-lane
// vectors, one class per vector and one anchor per lane, and what else the kernels on such
// vectors share: the smoothness loss's two lane kernels (smoothness_lanes.hpp for up to 16
// classes in registers, smoothness_lanes_wide.hpp for more in memory).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "farbound/core/host_device.hpp"
#include "farbound/detail/avx_row_ends.hpp"
#include "farbound/detail/stream_lines.hpp"
#include "farbound/detail/transpose_16x16.hpp"
#include "farbound/detail/transpose_8x8.hpp"
#include "farbound/regularize/detail/lane_row_pieces.hpp"
#include "farbound/regularize/detail/smoothness_kernel.hpp"

namespace farbound::detail {

// Moving W rows (row l at first + l * stride, elements [0, C), C <= 16) to and from W
// vectors, vector c holding element c of every row. With 16 floats on AVX-512: where C >= 4
// is known when compiled (`exact`), eight or four elements of each row at a time and 4 x 4
// transposes within the 128-bit lanes (lane_row_pieces.hpp); otherwise 16 masked row loads or
// stores and a 16 x 16 transpose in registers (64 shuffles), several times cheaper than
// gathers and scatters on current cores. With 8 floats on AVX2: each whole
// block of 8 columns as 16 half-row loads or stores and two 4 x 4 transposes within the
// 128-bit lanes (load_rows_8, store_rows_8), a last block of 2 by load_pairs / store_pairs,
// another partial one as 8 masked row loads or stores (avx_row_ends.hpp's ladder: AVX2's
// masked store is slow) and an 8 x 8 transpose. Elsewhere: gathers, and stores lane by
// lane. Always inlined: as calls, the columns went through memory both ways (14 % of the
// kernel's time at C = 10).
namespace lane_rows {

template <class T>
using Batch = xsimd::batch<T>;
template <class T>
constexpr bool in_registers = std::is_same_v<T, float> && Batch<T>::size == 16;
template <class T>
constexpr bool in_avx2_registers = std::is_same_v<T, float> && Batch<T>::size == 8;

template <class T>
xsimd::batch<xsimd::as_integer_t<T>> row_offsets(std::size_t stride) {
  alignas(64) xsimd::as_integer_t<T> at[Batch<T>::size];
  FARBOUND_UNROLL for (std::size_t l = 0; l < Batch<T>::size; ++l) at[l] = xsimd::as_integer_t<T>(l * stride);
  return xsimd::batch<xsimd::as_integer_t<T>>::load_aligned(at);
}

// Lane l of the result is base[l * stride]: the gather for the cases above that need one
// (doubles, and floats on neither AVX2 nor AVX-512).
template <class T>
Batch<T> gather(const T* base, std::size_t stride) {
  using V = Batch<T>;
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, double> && sizeof(V) == 64)  // xsimd 8.1 gathers element by element here
    return V(_mm512_i64gather_pd(row_offsets<T>(stride), base, 8));
#endif
  alignas(64) T lanes[V::size];
  FARBOUND_UNROLL for (std::size_t l = 0; l < V::size; ++l) lanes[l] = base[l * stride];
  return V::load_aligned(lanes);
}

// Also fills columns [C, Cn) with -inf: a class that is not there (exp(-inf) = 0 gives it
// p = q = 0, so it adds nothing to any sum and receives a zero gradient). With `exact`, C = Cn.
template <std::size_t Cn, bool exact = false, class T>
FARBOUND_FORCE_INLINE void load(const T* first, std::size_t stride, std::size_t C, Batch<T>* columns) {
  const T absent = -std::numeric_limits<T>::infinity();
#if defined(__AVX512F__)
  if constexpr (in_registers<T> && exact && in_pieces<Cn>) {
    __m512 m[8];
    FARBOUND_UNROLL for (std::size_t at = 0; at + 8 <= Cn; at += 8) {
      load_half_rows(first + at, stride, m);
      FARBOUND_UNROLL for (std::size_t c = 0; c < 8; ++c) columns[at + c] = m[c];
    }
    if constexpr (Cn % 8 != 0) {
      load_quarter_rows(first + Cn - 4, stride, m);
      FARBOUND_UNROLL for (std::size_t c = 0; c < 4; ++c) columns[Cn - 4 + c] = m[c];
    }
    return;
  }
  if constexpr (in_registers<T>) {
    const __mmask16 mask = __mmask16((1u << C) - 1);
    __m512 m[16];
    FARBOUND_UNROLL for (std::size_t l = 0; l < 16; ++l)
      m[l] = _mm512_mask_loadu_ps(_mm512_set1_ps(absent), mask, first + l * stride);
    transpose_16x16(m);
    FARBOUND_UNROLL for (std::size_t c = 0; c < Cn; ++c) columns[c] = m[c];
    return;
  }
#elif defined(__AVX2__)
  if constexpr (in_avx2_registers<T>) {
#pragma GCC unroll 4
    for (std::size_t block = 0; block < Cn; block += 8) {  // C > block: Cn is the least count >= C
      const std::size_t width = std::min<std::size_t>(C - block, 8);
      __m256 m[8];
      if (width == 2) {  // C = block + 2
        load_pairs(first + block, stride, m);
        columns[block] = m[0];
        columns[block + 1] = m[1];
        for (std::size_t c = block + 2; c < std::min<std::size_t>(Cn, block + 8); ++c) columns[c] = Batch<T>(absent);
        continue;
      }
      if (width == 8) {
        load_rows_8(first + block, stride, m);
      } else {
        FARBOUND_UNROLL for (std::size_t l = 0; l < 8; ++l)
          m[l] = load_first(first + l * stride + block, std::int64_t(width));
        transpose_8x8(m);
      }
      for (std::size_t c = block; c < std::min<std::size_t>(Cn, block + 8); ++c)
        columns[c] = c < C ? Batch<T>(m[c - block]) : Batch<T>(absent);
    }
    return;
  }
#endif
  FARBOUND_UNROLL for (std::size_t c = 0; c < Cn; ++c) columns[c] = c < C ? gather(first + c, stride) : Batch<T>(absent);
}

// Writes columns [0, C) of the Cn given; with `exact`, C = Cn.
template <std::size_t Cn, bool exact = false, class T>
FARBOUND_FORCE_INLINE void store(const Batch<T>* columns, std::size_t C, T* first, std::size_t stride) {
#if defined(__AVX512F__)
  if constexpr (in_registers<T> && exact && in_pieces<Cn>) {
    __m512 m[8];
    FARBOUND_UNROLL for (std::size_t at = 0; at + 8 <= Cn; at += 8) {
      FARBOUND_UNROLL for (std::size_t c = 0; c < 8; ++c) m[c] = columns[at + c];
      store_half_rows(m, first + at, stride);
    }
    if constexpr (Cn % 8 != 0) {
      FARBOUND_UNROLL for (std::size_t c = 0; c < 4; ++c) m[c] = columns[Cn - 4 + c];
      store_quarter_rows(m, first + Cn - 4, stride);
    }
    return;
  }
  if constexpr (in_registers<T>) {
    const __mmask16 mask = __mmask16((1u << C) - 1);
    __m512 m[16];
    FARBOUND_UNROLL for (std::size_t c = 0; c < 16; ++c) m[c] = c < Cn ? __m512(columns[c]) : _mm512_setzero_ps();
    transpose_16x16(m);
    FARBOUND_UNROLL for (std::size_t l = 0; l < 16; ++l) _mm512_mask_storeu_ps(first + l * stride, mask, m[l]);
    return;
  }
#elif defined(__AVX2__)
  if constexpr (in_avx2_registers<T>) {
#pragma GCC unroll 4
    for (std::size_t block = 0; block < Cn; block += 8) {  // C > block, as in load
      const std::size_t width = std::min<std::size_t>(C - block, 8);
      if (width == 2) {
        store_pairs(columns[block], columns[block + 1], first + block, stride);
        continue;
      }
      __m256 m[8];
      FARBOUND_UNROLL for (std::size_t c = 0; c < 8; ++c)
        m[c] = block + c < Cn ? __m256(columns[block + c]) : _mm256_setzero_ps();
      if (width == 8) {
        store_rows_8(m, first + block, stride);
        continue;
      }
      transpose_8x8(m);
      FARBOUND_UNROLL for (std::size_t l = 0; l < 8; ++l)
        store_first(first + l * stride + block, m[l], std::int64_t(width));
    }
    return;
  }
#endif
  alignas(64) T lanes[Batch<T>::size];
  for (std::size_t c = 0; c < std::min(C, Cn); ++c) {
    columns[c].store_aligned(lanes);
    FARBOUND_UNROLL for (std::size_t l = 0; l < Batch<T>::size; ++l) first[l * stride + c] = lanes[l];
  }
}

}  // namespace lane_rows

// where(m, a): a in the lanes where m holds, +0 elsewhere; where_not(m, a) the reverse. On
// AVX and SSE by a bitwise and (and-not) with the mask's register: xsimd::select compiled
// there to an integer compare (a sign-bit mask from one kept in memory) and a blend per
// use, both on the multipliers' ports.
template <class V>
FARBOUND_FORCE_INLINE V where(typename V::batch_bool_type m, V a) {
#if defined(__AVX__) && !defined(__AVX512F__)
  if constexpr (std::is_same_v<typename V::value_type, float> && sizeof(V) == 32) return V(_mm256_and_ps(m, a));
  if constexpr (std::is_same_v<typename V::value_type, double> && sizeof(V) == 32) return V(_mm256_and_pd(m, a));
#elif defined(__SSE2__) && !defined(__AVX512F__)
  if constexpr (std::is_same_v<typename V::value_type, float> && sizeof(V) == 16) return V(_mm_and_ps(m, a));
  if constexpr (std::is_same_v<typename V::value_type, double> && sizeof(V) == 16) return V(_mm_and_pd(m, a));
#endif
  return xsimd::select(m, a, V(typename V::value_type(0)));
}
template <class V>
FARBOUND_FORCE_INLINE V where_not(typename V::batch_bool_type m, V a) {
#if defined(__AVX__) && !defined(__AVX512F__)
  if constexpr (std::is_same_v<typename V::value_type, float> && sizeof(V) == 32) return V(_mm256_andnot_ps(m, a));
  if constexpr (std::is_same_v<typename V::value_type, double> && sizeof(V) == 32) return V(_mm256_andnot_pd(m, a));
#elif defined(__SSE2__) && !defined(__AVX512F__)
  if constexpr (std::is_same_v<typename V::value_type, float> && sizeof(V) == 16) return V(_mm_andnot_ps(m, a));
  if constexpr (std::is_same_v<typename V::value_type, double> && sizeof(V) == 16) return V(_mm_andnot_pd(m, a));
#endif
  return xsimd::select(m, V(typename V::value_type(0)), a);
}

// The W anchors' squared distances to their neighbour k, one anchor per lane (r points at
// the first anchor's K distances), for k = 0, 1, ... in turn: W neighbours' at a time by
// lane_rows::load (a gather per neighbour: 7 % slower at C = 10 on AVX2). next() is always
// inlined: at -O2 GCC called it, and the call cost the kernel its registers (C = 10 a third
// slower than at -O3).
template <class T>
class LaneDistances {
 public:
  LaneDistances(const T* r, std::size_t K) : r_(r), K_(K) {}
  FARBOUND_FORCE_INLINE xsimd::batch<T> next(std::size_t k) {
    if (k % W == 0) lane_rows::load<W>(r_ + k, K_, std::min(W, K_ - k), block_);
    return block_[k % W];
  }

 private:
  static constexpr std::size_t W = xsimd::batch<T>::size;
  const T* r_;
  std::size_t K_;
  xsimd::batch<T> block_[W];
};

// The memory traffic a lanes kernel overlaps with its block of W anchors, in whole cache
// lines: the next block's neighbour logits asked into the cache; and either the next block's
// gradient rows asked for with the intent to write (prefetchw), so that the stores into them
// need not wait for their lines to be read for ownership, or, where the caller stages each
// block's gradient rows in the cache and streams them out (smoothness_loss.hpp), the
// previous block's staged rows streamed out (each kernel says when). Each is optional (null).
template <class T>
struct BlockTraffic {
  const T* next_zn = nullptr;  // the next block's neighbour logits
  T* next_dzn = nullptr;       // its gradient rows, where they are not staged
  const T* staged = nullptr;   // the previous block's staged gradient rows (64-byte aligned) ...
  T* staged_to = nullptr;      // ... and their place (64-byte aligned)
};

// A BlockTraffic of blocks of W K C elements, cut into K shares of W C elements rounded up
// to whole lines (neighbour k's share: the lines from k times that), so that a kernel can
// spread the traffic over its neighbours: a share's lines asked for one at a time (ask) or
// at once (ask_share, ask_whole_share), the logits into L1 (locality 3) or L2 (2); the staged
// rows streamed a line at a time (stream).
template <class T>
class BlockLines {
 public:
  BlockLines(const BlockTraffic<T>& traffic, std::size_t K, std::size_t C)
      : traffic_(traffic), block_(xsimd::batch<T>::size * K * C),
        share_((xsimd::batch<T>::size * C + line - 1) / line * line) {}
  // The cache lines of neighbour k's share.
  std::size_t lines(std::size_t k) const {
    if (k * share_ >= block_) return 0;
    return (std::min(block_, (k + 1) * share_) - k * share_ + line - 1) / line;
  }
  // Asks for line i of neighbour k's share of the next block. Always inlined, as those
  // below: GCC 12 takes a function that only prefetches for one without effects and drops
  // its calls.
  template <int logit_locality>
  FARBOUND_FORCE_INLINE void ask(std::size_t k, std::size_t i) const {
    ask_lines<logit_locality>(k * share_ + i * line, 1);
  }
  // Asks for every line of neighbour k's share.
  template <int logit_locality>
  FARBOUND_FORCE_INLINE void ask_share(std::size_t k) const {
    ask_lines<logit_locality>(k * share_, lines(k));
  }
  // Neighbour k's share where it fills a whole number of lines known when compiled (W C
  // floats at C = 10: 10 lines on AVX-512), unrolled.
  template <int logit_locality, std::size_t lines>
  FARBOUND_FORCE_INLINE void ask_whole_share(std::size_t k) const {
    ask_lines<logit_locality>(k * share_, lines);
  }
  // Whether there are staged rows to stream out.
  bool streams() const { return traffic_.staged != nullptr; }
  // Streams out line i of neighbour k's share of the previous block's staged rows, where
  // streams().
  FARBOUND_FORCE_INLINE void stream(std::size_t k, std::size_t i) const {
    const std::size_t at = k * share_ + i * line;
    stream_line(traffic_.staged + at, traffic_.staged_to + at);
  }

 private:
  static constexpr std::size_t line = 64 / sizeof(T);
  // n lines from element e of the block, each kind in a loop of its own (in one loop of one
  // pointer, the gradient rows' lines at a fixed distance, the C = 10 kernel was 2 % slower).
  template <int logit_locality>
  FARBOUND_FORCE_INLINE void ask_lines(std::size_t e, std::size_t n) const {
    const std::size_t end = e + n * line;
    if (traffic_.next_zn)
      for (std::size_t at = e; at < end; at += line) __builtin_prefetch(traffic_.next_zn + at, 0, logit_locality);
    if (traffic_.next_dzn)
      for (std::size_t at = e; at < end; at += line) __builtin_prefetch(traffic_.next_dzn + at, 1, 3);
  }
  BlockTraffic<T> traffic_;
  std::size_t block_, share_;
};

// The W anchors' labels as a vector of T (-1: unlabelled) and the weights of their
// cross-entropies (ce_weight where labelled, 0 elsewhere).
template <class T>
struct LaneLabels {
  xsimd::batch<T> label, ce_weights;
};
template <class T>
LaneLabels<T> lane_labels(const std::int32_t* labels, T ce_weight) {
  constexpr std::size_t W = xsimd::batch<T>::size;
  alignas(64) T label[W], weight[W];
  FARBOUND_UNROLL for (std::size_t l = 0; l < W; ++l) {
    label[l] = T(labels[l]);
    weight[l] = labels[l] >= 0 ? ce_weight : T(0);
  }
  return {xsimd::batch<T>::load_aligned(label), xsimd::batch<T>::load_aligned(weight)};
}

// Each lane's terms into terms[W]: CE = log_sum_exp - label_logit for a labelled anchor (0
// for another), GR = weighted_squares / (K C).
template <class T>
void store_lane_terms(xsimd::batch<T> label, xsimd::batch<T> log_sum_exp, xsimd::batch<T> label_logit,
                      xsimd::batch<T> weighted_squares, std::size_t K, std::size_t C, AnchorTerms<T>* terms) {
  using V = xsimd::batch<T>;
  alignas(64) T ce[V::size], gr[V::size];
  where(label >= V(T(0)), log_sum_exp - label_logit).store_aligned(ce);
  (K > 0 ? weighted_squares / V(T(K * C)) : V(T(0))).store_aligned(gr);
  FARBOUND_UNROLL for (std::size_t l = 0; l < V::size; ++l) terms[l] = {ce[l], gr[l]};
}

}  // namespace farbound::detail
