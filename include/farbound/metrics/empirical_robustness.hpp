#pragma once
// ART-compatible empirical robustness (art.metrics.empirical_robustness; Moosavi-Dezfooli
// et al. 2016): the mean, over the points whose prediction a minimal-norm attack changed,
// of ||x_adv - x||_p / ||x||_p, p the attack's norm; 0 when no prediction changed (ART's
// return value then). "Changed" compares the predictions at x_adv and at x, not labels.
// ART runs its attack in "minimal" mode; here the minimal-norm attack is DeepFool, or any
// attack's output passed in as x_adv.
#include <cmath>
#include <cstdint>
#include <vector>

#include "farbound/attack/deepfool.hpp"
#include "farbound/attack/norm.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/metrics/accuracy.hpp"
#include "farbound/metrics/rho.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound {

// From adversarial points already computed: x_adv [N, ...] for x [N, ...].
template <class T>
double empirical_robustness(Sequential<T>& model, TensorView<const std::type_identity_t<T>> x,
                            TensorView<const std::type_identity_t<T>> x_adv, Norm norm, std::int64_t batch_size = 256) {
  const std::vector<double> ratios = perturbation_ratios<T>(x, x_adv, norm);
  const std::vector<int> before = predict(model, x, batch_size), after = predict(model, x_adv, batch_size);
  std::vector<std::uint8_t> changed(before.size());
  bool any = false;
  for (std::size_t i = 0; i < before.size(); ++i) {
    changed[i] = before[i] != after[i];
    any = any || changed[i];
  }
  if (!any) return 0.0;
  return mean_ratio(ratios, changed);
}

// With DeepFool as the minimal-norm attack, moving every point away from its prediction.
template <class T>
double empirical_robustness(Sequential<T>& model, DeepFool<T>& deepfool, TensorView<const std::type_identity_t<T>> x) {
  const std::vector<int> predictions = predict(model, x, deepfool.options().batch_size);
  Tensor<T> x_adv;
  deepfool.run(model, x, predictions, x_adv);
  return empirical_robustness<T>(model, x, x_adv.view(), deepfool.options().norm, deepfool.options().batch_size);
}

}  // namespace farbound
