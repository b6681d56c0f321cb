#pragma once
// Standard normal numbers of a RandomStream, vectorised, bit for bit those of
// core/box_muller.hpp's box_muller4 (the function the CUDA neighbour kernel calls).
//
// A chunk is W consecutive Philox blocks (W doubles per SIMD register), one block per lane,
// and every step runs on registers: the ten Philox rounds (each 32-bit word in a 64-bit
// lane, the 32 x 32 -> 64-bit products by one instruction), box_muller_reduce's integer
// range reduction, box_muller_radius and sin_cos_quarter, and box_muller_pair's choice of
// signs and of sine or cosine, as lane selects. Branch-free, the noise of a 32x32 image costs
// about a microsecond. The reduction uses that every integer below 2^52 is a double exactly:
// 2 w + 1 < 2^33 converted to double holds its leading-one position in the exponent and the
// bits below it in the mantissa, which is what box_muller_reduce reads with countl_zero.
//
// The polynomials are all fma, which a batch computes with one rounding only when the
// target has fused multiply-add (x86-64 with FMA3 or AVX-512, AArch64; on AVX-512 through
// simd::fused_multiply_add, as xsimd's own fma is not fused there); elsewhere xsimd would
// emulate it with two roundings, so those targets call box_muller4 block by block.
// Either way number i is the same function of (stream, i), whatever n is.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include <xsimd/xsimd.hpp>

#include "farbound/core/box_muller.hpp"
#include "farbound/core/random.hpp"
#include "farbound/core/simd.hpp"

namespace farbound::detail {

#if defined(__FMA__) || defined(__AVX512F__) || defined(__aarch64__)
inline constexpr bool simd_fma_is_fused = true;
#else
inline constexpr bool simd_fma_is_fused = false;
#endif

// Normal numbers per call of f below: four per Philox block, one block per lane.
inline constexpr std::size_t normal_chunk = 4 * xsimd::batch<double>::size;

// The largest count of numbers one point may draw (RandomStream::max_blocks blocks of
// four, less the padding of the last chunk).
inline constexpr std::int64_t max_normals = std::int64_t(RandomStream::max_blocks) * 4 - std::int64_t(normal_chunk);

namespace normal_lanes {

using D = xsimd::batch<double>;
using U = xsimd::batch<std::uint64_t>;  // the same lanes as D
static_assert(U::size == D::size);

// a * m for a < 2^32 in every lane: the whole 64-bit product.
template <class V>
V times(const V& a, std::uint32_t m) {
#if XSIMD_WITH_AVX512F
  if constexpr (V::size == 8) return _mm512_mul_epu32(a, _mm512_set1_epi64(m));
#endif
#if XSIMD_WITH_AVX2
  if constexpr (V::size == 4) return _mm256_mul_epu32(a, _mm256_set1_epi64x(m));
#endif
  return a * V(m);
}

// n as a double, exactly, for n < 2^52: 2^52 + n has n as its mantissa.
inline D exact_double(const U& n) {
  return xsimd::bitwise_cast<D>(n | U(0x4330000000000000ull)) - D(0x1p52);
}

// philox4x32_10 of W consecutive counters (the first word counts up), the words in lanes.
inline void philox(const PhiloxCounter& first, PhiloxKey key, U ctr[4]) {
  constexpr std::uint32_t m0 = PhiloxConstants::m0, m1 = PhiloxConstants::m1;
  constexpr std::uint32_t w0 = PhiloxConstants::w0, w1 = PhiloxConstants::w1;
  constexpr std::uint64_t low = 0xFFFFFFFFull;
  alignas(64) std::uint64_t word0[U::size];
  for (std::size_t lane = 0; lane < U::size; ++lane) word0[lane] = std::uint32_t(first[0] + std::uint32_t(lane));
  ctr[0] = U::load_aligned(word0);
  for (int i = 1; i < 4; ++i) ctr[i] = U(first[i]);
  for (int round = 0; round < 10; ++round) {
    const U p0 = times(ctr[0], m0), p1 = times(ctr[2], m1);
    ctr[0] = (p1 >> 32) ^ ctr[1] ^ U(key[0]);
    ctr[1] = p1 & U(low);
    ctr[2] = (p0 >> 32) ^ ctr[3] ^ U(key[1]);
    ctr[3] = p0 & U(low);
    key[0] += w0;
    key[1] += w1;
  }
}

// box_muller_reduce, the polynomials and box_muller_pair on lanes: (cos, sin) of each pair.
// A template only so that targets without a fused fma (nvcc's host pass among them) never
// instantiate it: for_each_normal_chunk calls it under `if constexpr (simd_fma_is_fused)`.
template <class = void>
void pair(const U& w_radius, const U& w_angle, D& first, D& second) {
  // ln u: 2 w_r + 1 = 2^e m with m in [1, 2), then m in [1/sqrt2, sqrt2).
  const U bits = xsimd::bitwise_cast<U>(exact_double(w_radius + w_radius + U(1)));
  D m = xsimd::bitwise_cast<D>((bits & U(0x000FFFFFFFFFFFFFull)) | U(0x3FF0000000000000ull));
  D k = exact_double(bits >> 52) - D(1023.0 + 33.0);
  const auto halve = m > D(1.4142135623730951);
  m = xsimd::select(halve, m * D(0.5), m);
  k = xsimd::select(halve, k + D(1.0), k);
  const auto fused = [](const D& a, const D& b, const D& c) { return simd::fused_multiply_add(a, b, c); };
  const D radius = box_muller_radius(m - D(1.0), k, fused);
  // The angle: quadrant q, and x in [0, pi/4] (reflected when past pi/4). The small integers
  // are compared as doubles (exact): xsimd 8.1's select on 64-bit integer lanes does not
  // compile at -O0 on AVX-512.
  constexpr double quarter = double(std::uint64_t(1) << 30);
  D j = exact_double(w_angle & U((std::uint64_t(1) << 30) - 1));
  const auto swapped = j > D(quarter / 2);
  j = xsimd::select(swapped, D(quarter) - j, j);
  const D q = exact_double(w_angle >> 30);
  D sin_x, cos_x;
  sin_cos_quarter(j * D(1.5707963267948966 / quarter), sin_x, cos_x, fused);
  // cos t and sin t are sin x and cos x exchanged when exactly one of "q odd" and "swapped".
  // (As a comparison of 0/1 doubles: xsimd 8.1's ^ of AVX-512 batch_bools gives wrong lanes.)
  const auto exchange = exact_double(w_angle >> 30 & U(1)) != xsimd::select(swapped, D(1.0), D(0.0));
  const D cos_t = radius * xsimd::select(exchange, sin_x, cos_x);
  const D sin_t = radius * xsimd::select(exchange, cos_x, sin_x);
  first = xsimd::select((q == D(1.0)) | (q == D(2.0)), -cos_t, cos_t);
  second = xsimd::select(q >= D(2.0), -sin_t, sin_t);
}

}  // namespace normal_lanes

// Calls f(first, z, count) with z[0 .. count) = standard normal numbers first .. first +
// count of the stream, for chunks covering [0, n) in order.
template <class F>
void for_each_normal_chunk(const RandomStream& s, std::size_t n, F&& f) {
  using namespace normal_lanes;
  constexpr std::size_t blocks = D::size;
  alignas(64) double z[normal_chunk];
  for (std::size_t first = 0; first < n; first += normal_chunk) {
    if constexpr (simd_fma_is_fused) {
      U words[4];
      philox(s.counter(first / 4), s.key(), words);
      D numbers[4];  // numbers 4b, 4b + 1 from words 0, 1 and 4b + 2, 4b + 3 from words 2, 3
      pair(words[0], words[1], numbers[0], numbers[1]);
      pair(words[2], words[3], numbers[2], numbers[3]);
      alignas(64) double lanes[4][blocks];
      for (int i = 0; i < 4; ++i) numbers[i].store_aligned(lanes[i]);
      for (std::size_t b = 0; b < blocks; ++b)
        for (int i = 0; i < 4; ++i) z[4 * b + std::size_t(i)] = lanes[i][b];
    } else {
      for (std::size_t b = 0; b < blocks; ++b) std::ranges::copy(box_muller4(s.block(first / 4 + b)), z + 4 * b);
    }
    f(first, static_cast<const double*>(z), std::min(normal_chunk, n - first));
  }
}

}  // namespace farbound::detail
