#pragma once
// Sums over one plane of floats or doubles, in double, for InstanceNorm2d: several sums in
// one pass, each in a fixed order that is the same on every thread.
//
// A term is a generic callable term(at) where at(p) is the run p[i..i+W) widened to a batch
// of W doubles, or on the last few elements p[i] as one double; it returns that run's
// contribution, e.g. [&](auto at) { return at(dy) * (at(x) - mean); }.
//
// Each sum keeps `accumulators` batches of partial sums (run r goes to batch r % 4), so four
// chains of adds run side by side: with one chain, the adds' latency set the pace. At the end
// the batches add pairwise, the lanes add in xsimd's fixed order, and the scalar tail last.
#include <array>
#include <cstdint>
#include <type_traits>

#include <xsimd/xsimd.hpp>

namespace farbound::detail {

template <class T>
xsimd::batch<double> load_widened(const T* p) {
  using D = xsimd::batch<double>;
  if constexpr (std::is_same_v<T, double>) {
    return D::load_unaligned(p);
  } else {
    // The compiler turns this into one widening load (vcvtps2pd); xsimd 8.1 has none.
    alignas(D::arch_type::alignment()) double wide[D::size];
    for (std::size_t j = 0; j < D::size; ++j) wide[j] = double(p[j]);
    return D::load_aligned(wide);
  }
}

template <class T, class... Term>
std::array<double, sizeof...(Term)> plane_sums(std::int64_t m, Term... terms) {
  using D = xsimd::batch<double>;
  constexpr std::int64_t W = D::size;
  constexpr int accumulators = 4;
  constexpr std::size_t n = sizeof...(Term);
  D acc[n][accumulators];
  for (auto& sums : acc)
    for (D& a : sums) a = D(0.0);

  std::int64_t i = 0;
  const auto add_run = [&](int a) {
    const auto at = [&](const T* p) { return load_widened(p + i); };
    std::size_t t = 0;
    ((acc[t++][a] += terms(at)), ...);
  };
  while (i + accumulators * W <= m)
    for (int a = 0; a < accumulators; ++a, i += W) add_run(a);
  for (int a = 0; i + W <= m; ++a, i += W) add_run(a);

  std::array<double, n> totals;
  for (std::size_t t = 0; t < n; ++t) totals[t] = xsimd::hadd((acc[t][0] + acc[t][1]) + (acc[t][2] + acc[t][3]));
  for (; i < m; ++i) {
    const auto at = [&](const T* p) { return double(p[i]); };
    std::size_t t = 0;
    ((totals[t++] += terms(at)), ...);
  }
  return totals;
}

}  // namespace farbound::detail
