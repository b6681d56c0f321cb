#pragma once
// farbound-eval's measures of each model on its own: clean accuracy, DeepFool's rho (L2, away
// from the model's predictions, on every evaluated point), the softmax on out-of-distribution
// inputs, and the gradient-masking checks on the first --sanity-points points.
#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "farbound/attack/deepfool.hpp"
#include "farbound/metrics/accuracy.hpp"
#include "farbound/metrics/gradient_masking.hpp"
#include "farbound/metrics/ood_softmax.hpp"
#include "farbound/metrics/rho.hpp"
#include "farbound/train/progress.hpp"
#include "support/eval_flags.hpp"
#include "support/eval_inputs.hpp"

namespace examples {

struct ModelMeasures {
  std::vector<double> clean_accuracy;                          // per model
  std::vector<farbound::RhoResult> rho;                        // per model; empty results when skipped
  std::vector<farbound::SoftmaxProfile> ood;                   // per model; empty profiles when --ood none
  std::vector<std::vector<farbound::MaskingCheck>> masking;    // per model; empty without --sanity
  std::int64_t masking_points = 0;
};

inline ModelMeasures measure_models(const EvalFlags& f, std::vector<ModelEntry>& entries,
                                    const farbound::Tensor<float>& x, std::span<const int> y,
                                    const farbound::Tensor<float>& ood_x) {
  using namespace farbound;
  const std::size_t n = entries.size();
  ModelMeasures out{std::vector<double>(n), std::vector<RhoResult>(n), std::vector<SoftmaxProfile>(n),
                    std::vector<std::vector<MaskingCheck>>(n), std::min(f.sanity_points, x.size(0))};
  DeepFool<float> deepfool({.norm = Norm::l2, .max_iter = std::max(1, f.deepfool_max_iter), .batch_size = f.batch_size});
  ProgressBar bar;
  for (std::size_t m = 0; m < n; ++m) {
    bar.update("rho and OOD softmax", std::int64_t(m), std::int64_t(n));
    Sequential<float>& model = entries[m].loaded.model;
    out.clean_accuracy[m] = accuracy(model, x.view(), y, f.batch_size);
    if (f.deepfool_max_iter > 0) out.rho[m] = deepfool_rho(model, deepfool, x.view());
    if (f.ood != "none") out.ood[m] = softmax_profile(model, ood_x.view(), f.bins, f.batch_size);
  }
  bar.clear();
  for (std::size_t m = 0; m < n && f.sanity; ++m) {
    bar.update("gradient-masking checks", std::int64_t(m), std::int64_t(n));
    out.masking[m] = gradient_masking_checks(entries[m].loaded.model, x.slice(0, out.masking_points),
                                             y.first(std::size_t(out.masking_points)), f.epsilons.back(),
                                             {.norm = f.suite_norm_value(), .seed = f.seed, .batch_size = f.batch_size});
  }
  bar.clear();
  return out;
}

}  // namespace examples
