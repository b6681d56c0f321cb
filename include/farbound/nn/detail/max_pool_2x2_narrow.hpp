#pragma once
// Max-pool forward and backward for 2 x 2 windows at stride 2 over narrow planes (LeNet's
// 10 x 10) on float with AVX-512, the planes of a chunk as one stream: the row kernels
// (max_pool_2x2.hpp, max_unpool_2x2.hpp) fill a register with 8 windows, but a row of 10
// inputs holds 5, and the calls per output row and per plane cost as much again as their
// arithmetic.
//
// Where H and W are even, consecutive planes are consecutive pairs of rows, 2W inputs and W/2
// windows each, so the chunk is one array of row pairs whatever the plane. It is read a
// register of 16 inputs at a time:
//   h = each input pair's maximum, in its first lane (vmaxps against the lanes swapped: the
//       second input only if greater, as the row kernel);
//   m = max(h W lanes on, h), the bottom row's pair only if greater: valignd brings the
//       register W lanes on, from this register and the next;
//   in the lanes that start a window in a top row, m is the window's maximum, the row
//   kernel's element (the same two steps in the same order); a permutation packs them and a
//   masked store writes them (at most 8: a 256-bit store, half the cost of a 512-bit one
//   where the address is not aligned).
// Which lanes start a window repeats after lcm(2W, 16) inputs (5 registers at W = 10): the
// table of each phase's lanes and output offsets is built when compiled. vmaxps does not
// pass a NaN on from its first operand, so the registers are also tested for NaN, and a
// stream that holds one is left to the row kernel (the caller's fallback).
//
// The backward reads the same registers of inputs and writes each whole (below).
//
// One thread, 64 x 16 planes of 10 x 10 in L2, the kernels alone: forward 9.3 us by rows,
// 6.9 us here (vcompressps instead of the permutation: 7.8; 512-bit stores: 8.5); backward
// as fast as by rows (15 cycles a register of inputs either way), but in the layer, without
// the calls per plane and per row, 1.8x faster (docs/performance.md).
#include <algorithm>
#include <bit>
#include <cstdint>
#include <numeric>

#include "farbound/nn/detail/max_unpool_2x2.hpp"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace farbound::detail {

// The stream's kernels for rows of W inputs: pool and unpool. Defined for AVX-512 only;
// elsewhere with_narrow_width (below) never instantiates them.
template <int W>
struct NarrowRowPairs;

#if defined(__AVX512F__)
template <int W>
struct NarrowRowPairs {
  static constexpr int period = std::lcm(2 * W, 16) / 16;  // registers
  struct Phases {
    unsigned starts[period];       // forward: lanes that start a window in a top row
    int offset[period + 1];        // forward: outputs before each register's, within the period
    int index[period][16];         // forward: where the permutation takes each output from
    unsigned top[period];          // backward: lanes in a top row
    int first_window[period];      // backward: the register's first window, within the period
    int window[period][16];        // backward: each lane's window, from the first
  };
  static constexpr Phases phases = [] {
    Phases t{};
    const auto window = [](int at) { return at / (2 * W) * (W / 2) + at % (2 * W) % W / 2; };
    for (int r = 0; r < period; ++r) {
      int count = 0;
      t.first_window[r] = window(16 * r);
      for (int l = 0; l < 16; ++l) t.first_window[r] = std::min(t.first_window[r], window(16 * r + l));
      for (int l = 0; l < 16; ++l) {
        const int at = 16 * r + l, in_pair = at % (2 * W);
        t.window[r][l] = window(at) - t.first_window[r];
        if (t.window[r][l] > 15) throw "a register's windows must fit a register";  // compile-time error
        if (in_pair < W) t.top[r] |= 1u << l;
        if (in_pair < W && in_pair % 2 == 0) {
          t.starts[r] |= 1u << l;
          t.index[r][count++] = l;
        }
      }
      t.offset[r + 1] = t.offset[r] + count;
    }
    return t;
  }();

  // `pairs` row pairs of W inputs from x, W / 2 outputs each into y. False if x holds a NaN
  // (y then holds no particular values).
  static bool pool(std::int64_t pairs, const float* __restrict x, float* __restrict y) {
    const std::int64_t n = 2 * W * pairs;
    const auto pair_max = [](__m512 v) { return _mm512_max_ps(_mm512_permute_ps(v, 0xB1), v); };
    __mmask16 nan = 0;
    // Register r of a period: inputs v, their pair maxima h, the next register's h_next.
    const auto windows = [&](__m512 v, __m512 h, __m512 h_next, const int* index, __mmask8 outputs, float* out) {
      nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
      const __m512i h_bits = _mm512_castps_si512(h), h_next_bits = _mm512_castps_si512(h_next);
      const __m512 below = _mm512_castsi512_ps(_mm512_alignr_epi32(h_next_bits, h_bits, W));
      const __m512 packed = _mm512_permutexvar_ps(_mm512_loadu_si512(index), _mm512_max_ps(below, h));
      _mm256_mask_storeu_ps(out, outputs, _mm512_castps512_ps256(packed));
    };
    const auto first = [](int count) { return __mmask8((1u << count) - 1); };
    std::int64_t i = 0, o = 0;
    // Whole periods whose next register lies inside x, unrolled: the phases are constants.
    if (16 * (period + 1) <= n) {
      __m512 v = _mm512_loadu_ps(x), h = pair_max(v);
      for (; i + 16 * (period + 1) <= n; i += 16 * period, o += phases.offset[period])
#pragma GCC unroll 8
        for (int r = 0; r < period; ++r) {
          const __m512 next = _mm512_loadu_ps(x + i + 16 * (r + 1)), h_next = pair_max(next);
          const int at = phases.offset[r], count = phases.offset[r + 1] - at;
          windows(v, h, h_next, phases.index[r], first(count), y + o + at);
          v = next;
          h = h_next;
        }
    }
    // The rest, with loads masked at the end of x.
    const auto load = [&](std::int64_t at) {
      return _mm512_maskz_loadu_ps(at >= n ? 0 : at + 16 <= n ? 0xFFFF : __mmask16((1u << (n - at)) - 1), x + at);
    };
    for (int r = 0; i < n; i += 16, r = r + 1 == period ? 0 : r + 1) {
      const __m512 v = load(i);
      const unsigned inside = i + 16 <= n ? 0xFFFFu : (1u << (n - i)) - 1;
      const int count = std::popcount(phases.starts[r] & inside);  // the first ones: the table lists them in order
      windows(v, pair_max(v), pair_max(load(i + 16)), phases.index[r], first(count), y + o);
      o += count;
    }
    return nan == 0;
  }

  // The gradient of every input of the `pairs` row pairs from x (outputs y, their gradients
  // g) into dx: g at the window's first position, in window order, equal to its maximum or
  // NaN, 0 elsewhere (max_unpool_2x2.hpp's rule). Each register of inputs gets its lanes'
  // windows' y and g by a permutation; a lane wins where it hits and its pair's first lane
  // did not, and in a bottom row also where no lane of the pair W lanes before hit (a mask
  // of the previous register and this one, shifted).
  static void unpool(std::int64_t pairs, const float* __restrict x, const float* __restrict y,
                     const float* __restrict g, float* __restrict dx) {
    const std::int64_t n = 2 * W * pairs, windows = W / 2 * pairs;
    unsigned pair_hit_before = 0;  // the previous register's lanes whose pair hit
    const auto inputs = [&](std::int64_t i, std::int64_t first, int r, __mmask16 lanes) {
      const __m512i index = _mm512_loadu_si512(phases.window[r]);
      const __mmask16 loaded = windows - first >= 16 ? 0xFFFF : __mmask16((1u << (windows - first)) - 1);
      const __m512 ys = _mm512_permutexvar_ps(index, _mm512_maskz_loadu_ps(loaded, y + first));
      const __m512 gs = _mm512_permutexvar_ps(index, _mm512_maskz_loadu_ps(loaded, g + first));
      const __m512 v = _mm512_maskz_loadu_ps(lanes, x + i);
      const unsigned hit = max_pool_hits(v, ys), pair_hit = pairs_hit(hit);
      const unsigned above = ((pair_hit << 16 | pair_hit_before) >> (16 - W)) & 0xFFFFu;
      pair_hit_before = pair_hit;
      const unsigned wins = first_hit_in_pair(hit) & (phases.top[r] | ~above);
      _mm512_mask_storeu_ps(dx + i, lanes, _mm512_maskz_mov_ps(__mmask16(wins), gs));
    };
    std::int64_t i = 0, o = 0;
    for (; i + 16 * period <= n; i += 16 * period, o += phases.offset[period])
#pragma GCC unroll 8
      for (int r = 0; r < period; ++r) inputs(i + 16 * r, o + phases.first_window[r], r, 0xFFFF);
    for (int r = 0; i < n; i += 16, ++r)
      inputs(i, o + phases.first_window[r], r, n - i >= 16 ? 0xFFFF : __mmask16((1u << (n - i)) - 1));
  }
};
#endif

// Calls f.template operator()<W>() for W = width where the stream runs (AVX-512, even widths
// below 16: no input pair straddles two rows and the row below is at most a register on; at
// 16 the row kernels fill their registers) and returns its result; false elsewhere.
template <class F>
bool with_narrow_width([[maybe_unused]] std::int64_t width, [[maybe_unused]] F&& f) {
#if defined(__AVX512F__)
  switch (width) {
    case 2: return f.template operator()<2>();
    case 4: return f.template operator()<4>();
    case 6: return f.template operator()<6>();
    case 8: return f.template operator()<8>();
    case 10: return f.template operator()<10>();
    case 12: return f.template operator()<12>();
    case 14: return f.template operator()<14>();
    default: return false;
  }
#else
  return false;
#endif
}

// Pools `pairs` row pairs of `width` inputs from x into y where the stream runs and x holds
// no NaN; false elsewhere (the caller then runs the row kernel).
inline bool max_pool_2x2_narrow(std::int64_t width, std::int64_t pairs, const float* __restrict x,
                                float* __restrict y) {
  return with_narrow_width(width, [&]<int W>() { return NarrowRowPairs<W>::pool(pairs, x, y); });
}

// The backward of max_pool_2x2_narrow where the stream runs (true); false elsewhere.
inline bool max_unpool_2x2_narrow(std::int64_t width, std::int64_t pairs, const float* __restrict x,
                                  const float* __restrict y, const float* __restrict g, float* __restrict dx) {
  return with_narrow_width(width, [&]<int W>() {
    NarrowRowPairs<W>::unpool(pairs, x, y, g, dx);
    return true;
  });
}

}  // namespace farbound::detail
