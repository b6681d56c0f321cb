#pragma once
// Robust accuracy over an epsilon grid, and the paper's comparison protocol.
//
// The robust accuracy of a model at radius eps is the fraction of points whose label the
// model still predicts at the attack's point x_adv (a point it already misclassifies counts
// as not robust). The paper (Paknezhad et al., section "Evaluation") compares several models
// (settings, each trained with several seeds) on the test points that *every* compared
// model classifies correctly, so that each model is attacked on the same points; it reports
// the mean +- standard error over the seeds of each setting. compare_robustness does all
// of that, and also reports the curves over all points.
#include <concepts>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "farbound/nn/batches.hpp"
#include "farbound/core/error.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/metrics/accuracy.hpp"
#include "farbound/metrics/statistics.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound {

// An attack with a radius: Fgsm<T>, Pgd<T>, or anything with the same two calls.
template <class A, class T>
concept EpsilonAttack = requires(A& a, Sequential<T>& model, TensorView<const T> x, std::span<const int> labels,
                                 double eps, Tensor<T>& x_adv) {
  a.run(model, x, labels, eps, x_adv);
  { a.fooled() } -> std::convertible_to<std::span<const std::uint8_t>>;
};

// Accuracy under an attack at each epsilon of a grid.
struct RobustAccuracyCurve {
  // The epsilons the attack ran at.
  std::vector<double> epsilons;
  std::vector<double> accuracy;  // accuracy[k]: robust accuracy at epsilons[k]
  std::int64_t points = 0;       // how many points were attacked
};

// The robust accuracy of `model` under `attack` at every radius in `epsilons`, on x [N, ...]
// with labels [N].
template <class T, EpsilonAttack<T> A>
RobustAccuracyCurve robust_accuracy(Sequential<T>& model, A& attack, TensorView<const std::type_identity_t<T>> x,
                                    std::span<const int> labels, std::span<const double> epsilons) {
  detail::require_labels(x, labels, "robust_accuracy");
  if (epsilons.empty()) throw argument_error("robust_accuracy: no epsilons");
  RobustAccuracyCurve curve{{epsilons.begin(), epsilons.end()}, {}, x.size(0)};
  Tensor<T> x_adv;
  for (double eps : epsilons) {
    attack.run(model, x, labels, eps, x_adv);
    std::int64_t robust = 0;
    for (std::uint8_t f : attack.fooled()) robust += !f;
    curve.accuracy.push_back(double(robust) / double(x.size(0)));
  }
  return curve;
}

// Mean and standard error, at every radius, of curves over the same epsilons (one per seed).
struct CurveSummary {
  // The epsilons.
  std::vector<double> epsilons;
  // Mean and standard error over the curves, per epsilon.
  std::vector<MeanError> accuracy;
};

// Mean and standard error of several models' curves, epsilon by epsilon.
inline CurveSummary summarize(std::span<const RobustAccuracyCurve> curves) {
  if (curves.empty()) throw argument_error("summarize: no curves");
  CurveSummary s{curves[0].epsilons, {}};
  for (const auto& c : curves)
    if (c.epsilons != s.epsilons || c.accuracy.size() != s.epsilons.size())
      throw argument_error("summarize: the curves were measured over different epsilons");
  std::vector<double> values(curves.size());
  for (std::size_t k = 0; k < s.epsilons.size(); ++k) {
    for (std::size_t m = 0; m < curves.size(); ++m) values[m] = curves[m].accuracy[k];
    s.accuracy.push_back(mean_standard_error(values));
  }
  return s;
}

// One setting of the comparison: its name and its models (one per seed).
template <class T>
struct ModelGroup {
  // The group's name in reports.
  std::string name;
  // Its models (e.g. one per seed).
  std::vector<Sequential<T>*> models;
};

// The robustness of a group of models (seeds of one setting): per model and summarised.
struct GroupRobustness {
  // The group's name.
  std::string name;
  std::vector<double> clean_accuracy;              // per model, on all points
  std::vector<RobustAccuracyCurve> all_points;     // per model
  std::vector<RobustAccuracyCurve> common_points;  // per model, on the commonly correct points
  // Mean and standard error over the group's models, on all and on the common points.
  CurveSummary all_summary, common_summary;        // mean +- s.e. over the group's models
};

// What compare_robustness found for every group, on all points and on the commonly correct ones.
struct RobustnessComparison {
  // The epsilons.
  std::vector<double> epsilons;
  // Points evaluated.
  std::int64_t points = 0;
  std::vector<std::int64_t> common;  // indices of the points every model classifies correctly
  // One entry per group.
  std::vector<GroupRobustness> groups;
};

// Which point sets compare_robustness attacks, its batch size and a progress callback.
struct CompareOptions {
  bool all_points = true;     // attack every point
  bool common_points = true;  // attack the points every model classifies correctly
  // Items per forward pass.
  std::int64_t batch_size = 256;
  // Called after every attack run (one model, one radius, one point set) with the runs
  // done so far and their total: for a progress bar.
  std::function<void(std::int64_t done, std::int64_t total)> progress{};
};

// Attacks every model of every group at every radius, on all points and/or on the points
// that all models (of all groups) classify correctly. Curves that were not asked for, or
// common-point curves when no point is commonly correct, are left empty.
template <class T, EpsilonAttack<T> A>
RobustnessComparison compare_robustness(std::span<const ModelGroup<T>> groups, A& attack,
                                        TensorView<const std::type_identity_t<T>> x, std::span<const int> labels,
                                        std::span<const double> epsilons, const CompareOptions& options = {}) {
  detail::require_labels(x, labels, "compare_robustness");
  std::vector<Sequential<T>*> every_model;
  for (const auto& g : groups) {
    if (g.models.empty()) throw argument_error("compare_robustness: group \"" + g.name + "\" has no models");
    every_model.insert(every_model.end(), g.models.begin(), g.models.end());
  }
  if (every_model.empty()) throw argument_error("compare_robustness: no groups");

  RobustnessComparison out{{epsilons.begin(), epsilons.end()}, x.size(0), {}, {}};
  out.common = commonly_correct<T>(every_model, x, labels, options.batch_size);
  Tensor<T> x_common;
  std::vector<int> labels_common;
  const bool common = options.common_points && !out.common.empty();
  if (common) {
    detail::gather_items<T>(x, out.common, x_common);
    for (std::int64_t i : out.common) labels_common.push_back(labels[std::size_t(i)]);
  }
  const std::int64_t total = std::int64_t(every_model.size()) * (int(options.all_points) + int(common));
  std::int64_t done = 0;
  auto report = [&] {
    if (options.progress) options.progress(++done, total);
  };
  for (const auto& g : groups) {
    GroupRobustness r{g.name, {}, {}, {}, {}, {}};
    for (Sequential<T>* model : g.models) {
      r.clean_accuracy.push_back(accuracy(*model, x, labels, options.batch_size));
      if (options.all_points) {
        r.all_points.push_back(robust_accuracy(*model, attack, x, labels, epsilons));
        report();
      }
      if (common) {
        r.common_points.push_back(robust_accuracy(*model, attack, x_common.view(), labels_common, epsilons));
        report();
      }
    }
    if (!r.all_points.empty()) r.all_summary = summarize(r.all_points);
    if (!r.common_points.empty()) r.common_summary = summarize(r.common_points);
    out.groups.push_back(std::move(r));
  }
  return out;
}

}  // namespace farbound
