#pragma once
// rho: how far, relative to the input's own size, a minimal-norm attack (DeepFool) has to
// move the points to change the model's decision (Moosavi-Dezfooli et al. 2016, and the
// paper's "adversarial ratio"):
//   rho_i = ||x_adv_i - x_i|| / ||x_i||      (the attack's norm; L2 for the paper's DeepFool)
// reported as the mean over the successful attacks, the mean over all points (an attack
// that failed contributes the distance it reached, as in the reference's getRho.py), and
// the success ratio. A point with ||x|| = 0 has no ratio (NaN) and is left out of both
// means, as the reference leaves out NaN.
//
// As in the reference code and ART, the attack moves each point away from the model's own
// prediction there (not its label), and success means that prediction changed; with labels,
// the attack moves away from the labels instead.
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "farbound/attack/deepfool.hpp"
#include "farbound/nn/batches.hpp"
#include "farbound/attack/norm.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/metrics/accuracy.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound {

// ||x_adv_i - x_i|| / ||x_i|| for every item; NaN where ||x_i|| = 0.
template <class T>
std::vector<double> perturbation_ratios(TensorView<const std::type_identity_t<T>> x,
                                        TensorView<const std::type_identity_t<T>> x_adv, Norm norm) {
  detail::require_batch(x, "perturbation_ratios");
  require_same_shape(x.shape(), x_adv.shape(), "perturbation_ratios (inputs vs adversarial points)");
  const std::int64_t n = x.size(0), d = x.shape().item_numel();
  std::vector<double> ratios(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const double size = detail::norm_of(x.data() + i * d, d, norm);
    ratios[std::size_t(i)] = size > 0 ? detail::distance(x_adv.data() + i * d, x.data() + i * d, d, norm) / size
                                      : std::numeric_limits<double>::quiet_NaN();
  }
  return ratios;
}

// DeepFool's rho: mean ||x_adv - x|| / ||x|| over the successful attacks and over all points, the success ratio, per-point values.
struct RhoResult {
  double rho_successful = 0;  // mean ratio over the successful attacks (NaN if none)
  double rho_all = 0;         // mean ratio over all points
  double success_ratio = 0;   // successful attacks / points
  std::vector<double> ratio;  // per point
  // Per point: whether the attack flipped the prediction.
  std::vector<std::uint8_t> success;
};

// Mean of ratios[i] over the i with mask[i] (every i when mask is empty), NaN left out.
inline double mean_ratio(std::span<const double> ratios, std::span<const std::uint8_t> mask) {
  double sum = 0;
  std::int64_t count = 0;
  for (std::size_t i = 0; i < ratios.size(); ++i)
    if ((mask.empty() || mask[i]) && !std::isnan(ratios[i])) {
      sum += ratios[i];
      ++count;
    }
  return count > 0 ? sum / double(count) : std::numeric_limits<double>::quiet_NaN();
}

// rho of DeepFool on x [N, ...], away from the model's predictions (labels empty) or from
// the given labels.
template <class T>
RhoResult deepfool_rho(Sequential<T>& model, DeepFool<T>& deepfool, TensorView<const std::type_identity_t<T>> x,
                       std::span<const int> labels = {}) {
  detail::require_batch(x, "deepfool_rho");
  const std::vector<int> reference =
      labels.empty() ? predict(model, x) : std::vector<int>(labels.begin(), labels.end());
  Tensor<T> x_adv;
  deepfool.run(model, x, reference, x_adv);
  RhoResult r;
  r.ratio = perturbation_ratios<T>(x, x_adv.view(), deepfool.options().norm);
  r.success.assign(deepfool.fooled().begin(), deepfool.fooled().end());
  std::int64_t successes = 0;
  for (std::uint8_t s : r.success) successes += s;
  r.success_ratio = double(successes) / double(x.size(0));
  r.rho_successful = mean_ratio(r.ratio, r.success);
  r.rho_all = mean_ratio(r.ratio, {});
  return r;
}

}  // namespace farbound
