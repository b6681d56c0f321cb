#pragma once
// The minimal adversarial distance per point: the shortest perturbation, in L2 or L-inf,
// that any of several minimal-norm attacks found to change the model's prediction at x
// (away from the model's own class, so misclassified points count like the others):
//   DeepFool, its crossing bisected (metrics/boundary_distance.hpp),
//   Carlini-Wagner L2 (L2 only),
//   FAB-T with a radius no perturbation inside the bounds exceeds (so it keeps its closest
//   misclassified point whatever its distance).
// Every attack's distance belongs to a point of another class, so each is an upper bound of
// the true minimal distance and their minimum is the best of them. The per-point values and
// the attack that won are kept: the distribution, not only its mean (rho), is the point.
// An attack is given by address (nullptr: not run), built with the options the caller chose.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "farbound/attack/carlini_wagner.hpp"
#include "farbound/attack/deepfool.hpp"
#include "farbound/attack/fab.hpp"
#include "farbound/attack/norm.hpp"
#include "farbound/core/error.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/metrics/accuracy.hpp"
#include "farbound/metrics/boundary_distance.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound {

// The attacks minimal_adversarial_distance runs, by address (nullptr: not run).
template <class T>
struct MinimalDistanceAttacks {
  // DeepFool, its crossing bisected; must run in the measured norm.
  DeepFool<T>* deepfool = nullptr;
  // Carlini-Wagner L2; only for Norm::l2.
  CarliniWagnerL2<T>* carlini_wagner = nullptr;
  // FAB-T; must run in the measured norm.
  Fab<T>* fab = nullptr;
};

// Result of minimal_adversarial_distance: per point, the smallest distance found and by which attack.
struct MinimalDistances {
  // The norm the distances are measured in.
  Norm norm = Norm::l2;
  std::vector<double> distance;  // per point; +inf where no attack found another class
  std::vector<std::string> by;   // per point: the attack that found it ("" where none did)
};

// Per point of x [N, ...], the smallest `norm` distance at which any of `attacks` found an
// input the model classifies differently from its prediction at x (bisection: DeepFool's
// bisection settings; its batch_size is also used for the prediction). Throws argument_error
// when no attack is given or one does not measure `norm`.
template <class T>
MinimalDistances minimal_adversarial_distance(Sequential<T>& model, TensorView<const std::type_identity_t<T>> x,
                                              Norm norm, MinimalDistanceAttacks<T> attacks,
                                              BoundaryDistanceOptions bisection = {}) {
  const std::string who = "minimal_adversarial_distance";
  detail::require_batch(x, who);
  if (!attacks.deepfool && !attacks.carlini_wagner && !attacks.fab) throw argument_error(who + ": no attack given");
  if (attacks.deepfool && attacks.deepfool->options().norm != norm)
    throw argument_error(who + ": DeepFool runs in " + to_string(attacks.deepfool->options().norm) + ", not " + to_string(norm));
  if (attacks.fab && attacks.fab->options().norm != norm)
    throw argument_error(who + ": FAB runs in " + to_string(attacks.fab->options().norm) + ", not " + to_string(norm));
  if (attacks.carlini_wagner && norm != Norm::l2) throw argument_error(who + ": Carlini-Wagner measures L2 only");
  const std::int64_t n = x.size(0), d = x.shape().item_numel();
  MinimalDistances out{norm, std::vector<double>(std::size_t(n), std::numeric_limits<double>::infinity()),
                       std::vector<std::string>(std::size_t(n))};
  const auto keep = [&](std::int64_t i, double dist, const std::string& name) {
    if (dist < out.distance[std::size_t(i)]) out.distance[std::size_t(i)] = dist, out.by[std::size_t(i)] = name;
  };
  const std::vector<int> classes = predict(model, x, bisection.batch_size);
  Tensor<T> x_adv;
  if (attacks.deepfool) {
    const BoundaryDistances bd = boundary_distance(model, *attacks.deepfool, x, bisection);
    for (std::int64_t i = 0; i < n; ++i)
      if (bd.found[std::size_t(i)]) keep(i, bd.distance[std::size_t(i)], attacks.deepfool->name());
  }
  if (attacks.carlini_wagner) {
    attacks.carlini_wagner->run(model, x, classes, x_adv);
    for (std::int64_t i = 0; i < n; ++i)
      if (attacks.carlini_wagner->fooled()[std::size_t(i)])
        keep(i, attacks.carlini_wagner->distances()[std::size_t(i)], attacks.carlini_wagner->name());
  }
  if (attacks.fab) {
    const Bounds& box = attacks.fab->options().bounds;
    const double reach = (box.upper - box.lower) * (norm == Norm::l2 ? std::sqrt(double(d)) : 1.0);
    attacks.fab->run(model, x, classes, reach, x_adv);
    for (std::int64_t i = 0; i < n; ++i)
      if (attacks.fab->fooled()[std::size_t(i)]) keep(i, attacks.fab->distances()[std::size_t(i)], attacks.fab->name());
  }
  return out;
}

}  // namespace farbound
