#pragma once
// How the classifier's pseudometric d1' relates to the oracle's d2' on nearby pairs (Wang,
// Gao, Qi). Strong-robustness needs d2'(x, x') -> 0 to force d1'(x, x') -> 0: then f1 =
// c1 o g1 (c1 continuous) cannot change between inputs the oracle cannot tell apart, and
// away from f1's boundary small oracle moves never flip it. In the paper's terms this is
// the relation between the topologies of (X, d1') and (X, d2'); when they are equivalent
// (each distance controls the other near every x) f1 is strong-robust. An unnecessary
// feature breaks it: along that feature d2' stays 0 while d1' grows.
//
// The check looks at pairs (x, x') and reports, per set of pairs, the largest d1' and d2'
// and the largest ratios d1'/d2' and d2'/d1'. compare_topologies draws the pairs with
// OraclePairSampler at shrinking oracle radii delta2 (the invisible part keeps its size):
//   max d1' shrinking with delta2 (max d1'/d2' bounded)  -> d2' controls d1';
//   max d1' staying put (max d1'/d2' growing like 1/delta2) -> it does not: some pairs the
//     oracle calls (almost) identical are far apart in g1's eyes.
// max d2'/d1' bounded says the converse (d1' controls d2' on these pairs). These are
// samples: a bounded ratio on them is evidence, not proof.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/theory/feature_map.hpp"
#include "farbound/theory/pair_sampler.hpp"
#include "farbound/theory/pseudometric.hpp"

namespace farbound {

// The largest d1', d2' and their ratios over pairs at one radius.
struct DistanceRatios {
  double radius = 0;          // the oracle radius delta2 the pairs were drawn at (0: given pairs)
  std::int64_t pairs = 0;     // pairs compared (d1' = d2' = 0 pairs count but have no ratio)
  // Largest d1'.
  double max_d1 = 0;
  // Largest d2'.
  double max_d2 = 0;
  double max_d1_over_d2 = 0;  // +inf when some pair has d2' = 0 < d1'
  double max_d2_over_d1 = 0;  // +inf when some pair has d1' = 0 < d2'
};

// The summary of given distances d1[i], d2[i] of the same pairs.
inline DistanceRatios summarize_distance_pairs(std::span<const double> d1, std::span<const double> d2,
                                               double radius = 0) {
  if (d1.size() != d2.size())
    throw shape_error("summarize_distance_pairs: " + std::to_string(d1.size()) + " d1' values for " +
                      std::to_string(d2.size()) + " d2' values");
  constexpr double inf = std::numeric_limits<double>::infinity();
  DistanceRatios r;
  r.radius = radius;
  r.pairs = std::int64_t(d1.size());
  for (std::size_t i = 0; i < d1.size(); ++i) {
    const double a = d1[i], b = d2[i];
    r.max_d1 = std::max(r.max_d1, a);
    r.max_d2 = std::max(r.max_d2, b);
    if (a > 0 || b > 0) {
      r.max_d1_over_d2 = std::max(r.max_d1_over_d2, b > 0 ? a / b : inf);
      r.max_d2_over_d1 = std::max(r.max_d2_over_d1, a > 0 ? b / a : inf);
    }
  }
  return r;
}

// The summary over given pairs (x_i, x'_i).
template <class T>
DistanceRatios distance_ratios(Pseudometric<T>& d1, Pseudometric<T>& d2, TensorView<const T> x,
                               TensorView<const T> x_prime) {
  std::vector<double> a, b;
  d1.distances(x, x_prime, a);
  d2.distances(x, x_prime, b);
  return summarize_distance_pairs(a, b);
}

// The summary at each oracle radius in `radii` (in the order given), over draws_per_item
// pairs per item of x drawn by OraclePairSampler(g2, options). For an oracle without
// geometry, the draws with d2' >= radius are left out, as in EtaEstimator::sample.
template <class T>
std::vector<DistanceRatios> compare_topologies(FeatureMap<T>& g1, FeatureMap<T>& g2, TensorView<const T> x,
                                               std::span<const double> radii, std::int64_t draws_per_item,
                                               PairSamplerOptions options = {}) {
  const std::string who = "compare_topologies";
  detail::require_feature_input(x, who);
  if (draws_per_item < 1 || draws_per_item > std::int64_t(UINT32_MAX))
    throw argument_error(who + ": draws_per_item must lie in [1, 2^32), got " + std::to_string(draws_per_item));
  const std::int64_t n = x.size(0), d = x.shape().item_numel(), total = n * draws_per_item;
  if (n > std::int64_t(UINT32_MAX)) throw argument_error(who + ": more than 2^32 items");
  for (double r : radii) OraclePairSampler<T>::require_delta2(r, who);
  const OraclePairSampler<T> sampler(g2, d, options);

  // Pair p = item p / K, draw p % K: the items repeated, and their draws.
  Tensor<T> xs(x.shape().with_batch(total)), xp(x.shape().with_batch(total));
  parallel_for(total, [&](std::int64_t p) {
    std::copy_n(x.data() + (p / draws_per_item) * d, d, xs.data() + p * d);
  });
  Pseudometric<T> d1(g1), d2(g2);
  std::vector<double> a, b;
  std::vector<DistanceRatios> out;
  for (double radius : radii) {
    parallel_for(total, [&](std::int64_t p) {
      sampler.draw(xs.data() + p * d, std::uint32_t(p / draws_per_item), std::uint32_t(p % draws_per_item), radius,
                   xp.data() + p * d);
    });
    d1.distances(xs.view(), xp.view(), a);
    d2.distances(xs.view(), xp.view(), b);
    if (!sampler.exact()) {
      std::size_t kept = 0;
      for (std::size_t i = 0; i < b.size(); ++i)
        if (b[i] < radius) {
          a[kept] = a[i];
          b[kept++] = b[i];
        }
      a.resize(kept);
      b.resize(kept);
    }
    out.push_back(summarize_distance_pairs(a, b, radius));
  }
  return out;
}

}  // namespace farbound
