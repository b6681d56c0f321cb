#pragma once
// Checks that a robustness number is not an artefact of gradient masking (Athalye, Carlini,
// Wagner 2018; Carlini et al. 2019, "On evaluating adversarial robustness"; the loss-path
// criterion of Pintor et al. 2022). A defence that flattens, saturates or shatters the
// loss surface makes gradient attacks fail without making the model robust; each check
// below is a symptom such a defence shows, and each reports its numbers and pass / warn:
//
//   iterative_vs_single_step  APGD-CE (`steps`) fools at least as many points as one FGSM
//                             step (L2: one normalised-gradient step of size eps).
//   white_box_vs_square       Square (gradient-free) fools at most 0.2 % of the points that
//                             APGD-CE and APGD-T both missed (AutoAttack's own warning).
//   large_eps                 at eps = large_eps (L-inf 0.5 lets every image turn grey; L2
//                             0.5 sqrt(D)) APGD-CE leaves at most chance accuracy (1 / classes).
//   more_iterations           doubling APGD-CE's steps, or its restarts, changes the robust
//                             accuracy by less than 0.5 points.
//   random_noise              uniform noise in the ball (noise_draws per point) finds no
//                             error on a point the attacks did not fool.
//   zero_gradients            no point has an all-zero input gradient of the cross-entropy.
//   loss_converged            APGD-CE's mean best loss, rescaled to [0, 1] over its path,
//                             rises by less than 0.05 over the last 10 steps.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "farbound/attack/apgd.hpp"
#include "farbound/attack/bounds.hpp"
#include "farbound/nn/batches.hpp"
#include "farbound/nn/eval_mode.hpp"
#include "farbound/attack/norm.hpp"
#include "farbound/attack/pgd.hpp"
#include "farbound/attack/square.hpp"
#include "farbound/core/random.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/loss.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound {

// The verdict of one gradient-masking check and the numbers it rests on.
struct MaskingCheck {
  // Which check.
  std::string name;
  // Whether the check found no sign of gradient masking.
  bool pass = true;
  std::string numbers;  // what the verdict rests on, for the report
};

// Settings of gradient_masking_checks: norm, steps, queries, the large radius, noise draws.
struct MaskingOptions {
  // The norm of the radius.
  Norm norm = Norm::linf;
  // APGD-CE's iterations.
  int steps = 100;
  // Square's queries per item.
  int square_queries = 5000;
  // Unset: 0.5 for L-inf, 0.5 sqrt(D) for L2 (the L2 ball around the L-inf one).
  std::optional<double> large_eps{};
  // Random points per item of the noise check.
  int noise_draws = 1000;
  // Seed of its random numbers.
  std::uint64_t seed = 0;
  // The box the inputs and results stay in.
  Bounds bounds{};
  // Items per forward pass.
  std::int64_t batch_size = 256;
};

namespace detail {

inline std::string masking_numbers(const char* format, double a, double b = 0, double c = 0) {
  char buf[160];
  std::snprintf(buf, sizeof buf, format, a, b, c);
  return buf;
}

// The share of items an attack's verdicts call robust.
inline double robust_share(std::span<const std::uint8_t> fooled) {
  std::int64_t robust = 0;
  for (std::uint8_t f : fooled) robust += !f;
  return fooled.empty() ? 0.0 : double(robust) / double(fooled.size());
}

// noise_fooled[i] = 1 where one of `draws` uniform points of the eps-ball around item i
// (clipped to the bounds) is misclassified.
template <class T>
std::vector<std::uint8_t> noise_errors(Sequential<T>& model, TensorView<const T> x, std::span<const int> labels,
                                       double eps, const MaskingOptions& o) {
  const std::int64_t d = x.shape().item_numel(), n = x.size(0);
  std::vector<std::uint8_t> fooled(std::size_t(n), 0);
  Tensor<T> draws(x.shape().with_batch(std::min<std::int64_t>(o.noise_draws, o.batch_size)));
  for (std::int64_t i = 0; i < n && eps > 0; ++i)
    for (std::int64_t first = 0; first < o.noise_draws && !fooled[std::size_t(i)]; first += draws.size(0)) {
      const std::int64_t count = std::min(draws.size(0), o.noise_draws - first);
      for (std::int64_t r = 0; r < count; ++r) {
        T* row = draws.data() + r * d;
        const RandomStream stream(o.seed, Purpose::attack, std::uint32_t(first + r), std::uint32_t(i), 64);
        if (o.norm == Norm::linf) {
          stream.uniform(std::span<T>(row, std::size_t(d)));
          for (std::int64_t j = 0; j < d; ++j) row[j] = x[i * d + j] + T(eps) * (T(2) * row[j] - T(1));
        } else {
          // Uniform in the L2 ball: a Gaussian direction, radius eps u^(1/d).
          stream.normal(std::span<T>(row, std::size_t(d)));
          double u = 0;
          RandomStream(o.seed, Purpose::attack, std::uint32_t(first + r), std::uint32_t(i), 65)
              .uniform(std::span<double>(&u, 1));
          const T scale = T(eps * std::pow(u, 1.0 / double(d)) / (norm_of(row, d, Norm::l2) + 1e-12));
          for (std::int64_t j = 0; j < d; ++j) row[j] = x[i * d + j] + scale * row[j];
        }
        clip_to_bounds(row, d, o.bounds);
      }
      const TensorView<const T> logits = model.forward(draws.slice(0, count));
      const std::int64_t c = logits.size(1);
      for (std::int64_t r = 0; r < count; ++r)
        if (argmax(logits.data() + r * c, c) != labels[std::size_t(i)]) fooled[std::size_t(i)] = 1;
    }
  return fooled;
}

}  // namespace detail

// The checks above for `model` on x [N, ...] with labels [N] at radius eps.
template <class T>
std::vector<MaskingCheck> gradient_masking_checks(Sequential<T>& model, TensorView<const std::type_identity_t<T>> x,
                                                  std::span<const int> labels, double eps, const MaskingOptions& o = {}) {
  detail::require_labels(x, labels, "gradient_masking_checks");
  const EvalMode<T> eval(model);
  std::vector<MaskingCheck> checks;
  Tensor<T> adv;
  const auto apgd = [&](ApgdLoss loss, int steps, int restarts, double radius) {
    Apgd<T> a({.norm = o.norm, .loss = loss, .steps = steps, .restarts = restarts, .target_classes = 9, .seed = o.seed,
               .bounds = o.bounds, .batch_size = o.batch_size});
    a.run(model, x, labels, radius, adv);
    return a;
  };

  Apgd<T> ce = apgd(ApgdLoss::cross_entropy, o.steps, 1, eps);
  const std::vector<std::uint8_t> ce_fooled(ce.fooled().begin(), ce.fooled().end());
  const double ce_robust = detail::robust_share(ce_fooled);
  Pgd<T> one_step({.norm = o.norm, .steps = 1, .rel_stepsize = 1.0, .random_start = false, .restarts = 1,
                   .seed = o.seed, .bounds = o.bounds, .batch_size = o.batch_size},
                  "single step");
  one_step.run(model, x, labels, eps, adv);
  const double single_robust = detail::robust_share(one_step.fooled());
  checks.push_back({"iterative_vs_single_step", ce_robust <= single_robust,
                    detail::masking_numbers("robust accuracy: APGD-CE %.2f %%, single step %.2f %%", 100 * ce_robust,
                                            100 * single_robust)});

  // The white-box ensemble's verdicts (APGD-T needs 4 classes; with fewer, APGD-CE alone).
  std::vector<std::uint8_t> white = ce_fooled;
  if (detail::num_classes(model, x, "gradient_masking_checks") >= 4) {
    const Apgd<T> targeted = apgd(ApgdLoss::targeted_dlr, o.steps, 1, eps);
    for (std::size_t i = 0; i < white.size(); ++i) white[i] = white[i] || targeted.fooled()[i];
  }
  Square<T> square({.norm = o.norm, .queries = o.square_queries, .p_init = 0.8, .restarts = 1, .seed = o.seed,
                    .bounds = o.bounds, .batch_size = o.batch_size});
  square.run(model, x, labels, eps, adv);
  std::int64_t square_only = 0;
  for (std::size_t i = 0; i < white.size(); ++i) square_only += square.fooled()[i] && !white[i];
  const double square_share = double(square_only) / double(white.size());
  checks.push_back({"white_box_vs_square", square_share <= 0.002,
                    detail::masking_numbers("Square alone fooled %.2f %% of the points (white-box robust %.2f %%, "
                                            "Square robust %.2f %%)",
                                            100 * square_share, 100 * detail::robust_share(white),
                                            100 * detail::robust_share(square.fooled()))});

  const double chance = 1.0 / double(detail::num_classes(model, x, "gradient_masking_checks"));
  const double large_eps =
      o.large_eps.value_or(o.norm == Norm::linf ? 0.5 : 0.5 * std::sqrt(double(x.shape().item_numel())));
  const double large_robust = detail::robust_share(apgd(ApgdLoss::cross_entropy, o.steps, 1, large_eps).fooled());
  checks.push_back({"large_eps", large_robust <= chance,
                    detail::masking_numbers("robust accuracy at eps %g: %.2f %% (chance %.2f %%)", large_eps,
                                            100 * large_robust, 100 * chance)});

  const double doubled = detail::robust_share(apgd(ApgdLoss::cross_entropy, 2 * o.steps, 1, eps).fooled());
  const double restarted = detail::robust_share(apgd(ApgdLoss::cross_entropy, o.steps, 2, eps).fooled());
  const double change = std::max(std::abs(doubled - ce_robust), std::abs(restarted - ce_robust));
  checks.push_back({"more_iterations", change < 0.005,
                    detail::masking_numbers("robust accuracy %.2f %%; doubled steps %.2f %%, two restarts %.2f %%",
                                            100 * ce_robust, 100 * doubled, 100 * restarted)});

  const std::vector<std::uint8_t> noise = detail::noise_errors(model, x, labels, eps, o);
  std::int64_t noise_only = 0, noise_any = 0;
  for (std::size_t i = 0; i < noise.size(); ++i) {
    noise_any += noise[i];
    noise_only += noise[i] && !white[i];
  }
  checks.push_back({"random_noise", noise_only == 0,
                    detail::masking_numbers("noise fooled %g points, %g of them missed by the attacks",
                                            double(noise_any), double(noise_only))});

  std::int64_t zero = 0;
  Tensor<T> grad_logits;
  std::vector<int> batch_labels;
  const std::int64_t d = x.shape().item_numel();
  detail::for_each_batch(x.size(0), o.batch_size, [&](std::int64_t first, std::int64_t count) {
    batch_labels.assign(labels.begin() + first, labels.begin() + first + count);
    const TensorView<const T> logits = model.forward(x.slice(first, count));
    cross_entropy<T>(logits, batch_labels, grad_logits);
    const TensorView<const T> g = model.backward(grad_logits.view(), InputGrad::compute, ParamGrads::skip);
    for (std::int64_t k = 0; k < count; ++k) zero += detail::norm_of(g.data() + k * d, d, Norm::linf) == 0;
  });
  checks.push_back({"zero_gradients", zero == 0,
                    detail::masking_numbers("%g of %g points have an all-zero input gradient", double(zero),
                                            double(x.size(0)))});

  const std::span<const double> trace = ce.loss_trace();
  const auto [low, high] = std::minmax_element(trace.begin(), trace.end());
  const double span = *high - *low;
  const std::size_t last = trace.size() - 1, earlier = trace.size() > 10 ? last - 10 : 0;
  const double late_rise = span > 0 ? (trace[last] - trace[earlier]) / span : 0.0;
  checks.push_back({"loss_converged", late_rise < 0.05,
                    detail::masking_numbers("the rescaled loss rose %.3f over the last 10 steps (from %.4g to %.4g)",
                                            late_rise, trace[earlier], trace[last])});
  return checks;
}

}  // namespace farbound
