#pragma once
// Sums over one plane of floats or doubles, in double, for InstanceNorm2d: several sums in
// one pass, each in a fixed order that is the same on every thread.
//
// A term is a generic callable term(at) where at(p) is the run p[i..i+W) widened to a batch
// of W doubles, or on the last few elements p[i] as one double; it returns that run's
// contribution, e.g. [&](auto at) { return at(dy) * (at(x) - mean); }.
//
// Each sum keeps plane_sum_chains (2 or 4) batches of partial sums (run r goes to batch r mod
// that), so chains of adds run side by side: with one chain, the adds' latency set the pace.
// At the end the batches add pairwise, the lanes add in xsimd's fixed order, and the scalar
// tail last.
#include <array>
#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>

#include <xsimd/xsimd.hpp>

#include "farbound/core/host_device.hpp"

namespace farbound::detail {

// Chains of adds per sum: four where all the accumulators take at most half the vector
// registers (AVX-512's 32 hold the backward's 4 x 4), else two: on AVX2 the backward's 16
// accumulators went through the stack every step, and its 8 x 8 planes ran 1.3x faster on two
// chains (docs/performance.md).
#if defined(__AVX512F__)
inline constexpr std::size_t vector_registers = 32;
#else
inline constexpr std::size_t vector_registers = 16;
#endif
template <std::size_t sums>
inline constexpr std::size_t plane_sum_chains = 4 * sums <= vector_registers / 2 ? 4 : 2;

// The pairwise sum of a[0..N), N a power of two.
template <std::size_t N, class D>
FARBOUND_FORCE_INLINE D add_pairwise(const D* a) {
  if constexpr (N == 1) return a[0];
  else return add_pairwise<N / 2>(a) + add_pairwise<N / 2>(a + N / 2);
}

// W floats widened to a batch of W doubles, by the widening conversion (xsimd 8.1 has none).
// Not through an array on the stack: GCC tuned for Intel's AVX-512 cores (256-bit vectors
// preferred) filled it by two 256-bit stores and read it back as one 512-bit load, which
// waits for the stores to retire instead of forwarding them; InstanceNorm then ran at 2 ns an
// element, a sixth of a copy (docs/performance.md).
template <class T>
xsimd::batch<double> load_widened(const T* p) {
  using D = xsimd::batch<double>;
  if constexpr (std::is_same_v<T, double>) {
    return D::load_unaligned(p);
  } else {
#if defined(__AVX512F__)
    if constexpr (D::size == 8) return D(_mm512_cvtps_pd(_mm256_loadu_ps(p)));
#endif
#if defined(__AVX__)
    if constexpr (D::size == 4) return D(_mm256_cvtps_pd(_mm_loadu_ps(p)));
#endif
#if defined(__SSE2__)
    if constexpr (D::size == 2)
      return D(_mm_cvtps_pd(_mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)))));
#endif
    alignas(D::arch_type::alignment()) double wide[D::size];
    for (std::size_t j = 0; j < D::size; ++j) wide[j] = double(p[j]);
    return D::load_aligned(wide);
  }
}

// Accumulator I is chain I % plane_sum_chains of term I / plane_sum_chains. They are a
// lambda's parameters, not an array, which GCC parks on the stack between the loops (a
// store and a reload per accumulator and plane: at 8 x 8 planes, as long as the loop).
// Always inlined, the lambda too: with InstanceNorm's four sums GCC made them calls, whose
// results went through memory (15-20 % of the 8 x 8 planes' forward).
template <class T, std::size_t... I, class Terms>
FARBOUND_FORCE_INLINE auto plane_sums_chains(std::int64_t m, std::index_sequence<I...>, const Terms& terms) {
  using D = xsimd::batch<double>;
  constexpr std::int64_t W = D::size;
  constexpr std::size_t n = std::tuple_size_v<Terms>;
  constexpr std::int64_t chains = plane_sum_chains<n>;
  return [&](auto... acc) __attribute__((always_inline)) {
    std::int64_t i = 0;
    for (; i + chains * W <= m; i += chains * W)
      ((acc += std::get<I / chains>(terms)(
            [&](const T* p) { return load_widened(p + i + std::int64_t(I % chains) * W); })),
       ...);
    for (std::int64_t a = 0; i + W <= m; ++a, i += W)
      ((std::int64_t(I % chains) == a
            ? void(acc += std::get<I / chains>(terms)([&](const T* p) { return load_widened(p + i); }))
            : void()),
       ...);
    const D all[] = {acc...};
    std::array<double, n> totals;
    for (std::size_t t = 0; t < n; ++t)
      totals[t] = xsimd::hadd(add_pairwise<chains>(all + chains * t));
    for (; i < m; ++i) {
      const auto at = [&](const T* p) { return double(p[i]); };
      std::apply([&](const auto&... term) {
        std::size_t t = 0;
        ((totals[t++] += term(at)), ...);
      }, terms);
    }
    return totals;
  }(((void)I, D(0.0))...);
}

template <class T, class... Term>
FARBOUND_FORCE_INLINE std::array<double, sizeof...(Term)> plane_sums(std::int64_t m, Term... terms) {
  return plane_sums_chains<T>(m, std::make_index_sequence<sizeof...(Term) * plane_sum_chains<sizeof...(Term)>>{},
                              std::tuple<Term...>(terms...));
}

}  // namespace farbound::detail
