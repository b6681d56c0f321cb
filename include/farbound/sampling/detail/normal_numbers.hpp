#pragma once
// Standard normal numbers of a RandomStream, vectorised, bit for bit those of
// core/box_muller.hpp's box_muller4 (the function the CUDA neighbour kernel calls).
//
// A chunk of W Box-Muller pairs (W doubles per SIMD register) is reduced one pair at a
// time (integer work), then box_muller_radius and sin_cos_quarter run on xsimd batches, so
// the noise of a 32x32 image costs a few microseconds. The polynomials are all fma, which
// a batch computes with one rounding only when the target has fused multiply-add (x86-64
// with FMA3 or AVX-512, AArch64); elsewhere xsimd would emulate it with two roundings, so
// those targets run the same templates one double at a time, with std::fma. Either way
// number i is the same function of (stream, i), whatever n is.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include <xsimd/xsimd.hpp>

#include "farbound/core/box_muller.hpp"
#include "farbound/core/random.hpp"

namespace farbound::detail {

#if defined(__FMA__) || defined(__AVX512F__) || defined(__aarch64__)
inline constexpr bool simd_fma_is_fused = true;
#else
inline constexpr bool simd_fma_is_fused = false;
#endif

// Normal numbers per call of f below.
inline constexpr std::size_t normal_chunk = 2 * xsimd::batch<double>::size;

// The largest count of numbers one point may draw (RandomStream::max_blocks blocks of
// four, less the padding of the last chunk).
inline constexpr std::int64_t max_normals = std::int64_t(RandomStream::max_blocks) * 4 - std::int64_t(normal_chunk);

// Calls f(first, z, count) with z[0 .. count) = standard normal numbers first .. first +
// count of the stream, for chunks covering [0, n) in order.
template <class F>
void for_each_normal_chunk(const RandomStream& s, std::size_t n, F&& f) {
  using V = xsimd::batch<double>;
  constexpr std::size_t pairs = V::size;
  static_assert(pairs % 2 == 0, "a chunk is whole Philox blocks of two pairs each");
  BoxMullerReduced reduced[pairs];
  alignas(64) double fraction[pairs], exponent[pairs], angle[pairs], radius[pairs], sines[pairs], cosines[pairs];
  alignas(64) double z[normal_chunk];
  for (std::size_t first = 0; first < n; first += normal_chunk) {
    for (std::size_t b = 0; b < pairs / 2; ++b) {
      const auto w = s.block(first / 4 + b);
      for (std::size_t h = 0; h < 2; ++h) {
        const std::size_t p = 2 * b + h;
        reduced[p] = box_muller_reduce(w[2 * h], w[2 * h + 1]);
        fraction[p] = reduced[p].f;
        exponent[p] = reduced[p].k;
        angle[p] = reduced[p].x;
      }
    }
    if constexpr (simd_fma_is_fused) {
      box_muller_radius(V::load_aligned(fraction), V::load_aligned(exponent)).store_aligned(radius);
      V sin_x, cos_x;
      sin_cos_quarter(V::load_aligned(angle), sin_x, cos_x);
      sin_x.store_aligned(sines);
      cos_x.store_aligned(cosines);
    } else {
      for (std::size_t p = 0; p < pairs; ++p) {
        radius[p] = box_muller_radius(fraction[p], exponent[p]);
        sin_cos_quarter(angle[p], sines[p], cosines[p]);
      }
    }
    for (std::size_t p = 0; p < pairs; ++p) box_muller_pair(reduced[p], radius[p], sines[p], cosines[p], z + 2 * p);
    f(first, static_cast<const double*>(z), std::min(normal_chunk, n - first));
  }
}

}  // namespace farbound::detail
