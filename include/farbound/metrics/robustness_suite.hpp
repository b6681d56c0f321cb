#pragma once
// RobustnessSuite: the per-point worst case over an ensemble of attacks, the robustness
// number to report (Croce & Hein, ICML 2020, "AutoAttack"). A single attack, even a strong
// one, can be fooled by the model (gradients that vanish, explode or point the wrong way);
// an ensemble of different losses (CE, DLR), strategies (gradient ascent, minimal
// perturbation) and a gradient-free search is much harder to fool, and a point counts as
// robust only if no member found an adversarial point for it.
//
// The attacks run in order; each sees only the points every earlier one failed on, and
// starts from the clean points (not from an earlier attack's result). A point the model
// misclassifies clean is not robust and not attacked. The result keeps, per point, which
// attack fooled it first, so a report can show what each member added.
//
// The suite has the calls of an EpsilonAttack (metrics/robust_accuracy.hpp): run / fooled,
// so robust_accuracy and compare_robustness measure it like any single attack.
#include <chrono>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "farbound/nn/batches.hpp"
#include "farbound/nn/eval_mode.hpp"
#include "farbound/core/error.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/metrics/robust_accuracy.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound {

// One member of a suite: a name and any EpsilonAttack, kept behind a shared pointer so that
// the suite can be copied and the attack keep its buffers between runs.
template <class T>
class SuiteAttack {
 public:
  // A member called `name` that runs `attack`.
  template <EpsilonAttack<T> A>
  SuiteAttack(std::string name, A attack) : name_(std::move(name)) {
    auto held = std::make_shared<A>(std::move(attack));
    run_ = [held](Sequential<T>& model, TensorView<const T> x, std::span<const int> labels, double eps,
                  Tensor<T>& x_adv) {
      held->run(model, x, labels, eps, x_adv);
      return std::span<const std::uint8_t>(held->fooled());
    };
  }
  // Its name in reports.
  const std::string& name() const { return name_; }
  // Runs the attack; returns its per-item verdicts (valid until the next run).
  std::span<const std::uint8_t> run(Sequential<T>& model, TensorView<const T> x, std::span<const int> labels,
                                    double eps, Tensor<T>& x_adv) const {
    return run_(model, x, labels, eps, x_adv);
  }

 private:
  std::string name_;
  std::function<std::span<const std::uint8_t>(Sequential<T>&, TensorView<const T>, std::span<const int>, double,
                                              Tensor<T>&)>
      run_;
};

// One run of a suite at one radius.
struct SuiteRun {
  // fooled_by[i] of a point wrong at the clean input (else the index of the first attack
  // that fooled point i, or robust).
  static constexpr int misclassified_clean = -2;
  // fooled_by[i] of a point no attack fooled.
  static constexpr int robust = -1;
  // The radius.
  double eps = 0;
  // The members' names.
  std::vector<std::string> attacks;
  // Per point: the index of the first member that fooled it, misclassified_clean or robust.
  std::vector<int> fooled_by;
  // removed[a]: how many points attack a fooled first.
  std::vector<std::int64_t> removed;
  // Points classified correctly without an attack.
  std::int64_t clean_correct = 0;
  // seconds[a]: the wall-clock time attack a ran (for reports of what the suite costs).
  std::vector<double> seconds;

  // Points no attack fooled.
  std::int64_t robust_points() const {
    std::int64_t n = 0;
    for (int f : fooled_by) n += f == robust;
    return n;
  }
  // The share of points no attack fooled (0 without points).
  double robust_accuracy() const { return fooled_by.empty() ? 0.0 : double(robust_points()) / double(fooled_by.size()); }
};

// Several attacks run on the same points; a point counts as robust only if every attack fails on it.
template <class T>
class RobustnessSuite {
 public:
  // A suite of `attacks` (at least one), run batch_size points at a time.
  RobustnessSuite(std::vector<SuiteAttack<T>> attacks, std::int64_t batch_size = 256)
      : attacks_(std::move(attacks)), batch_size_(batch_size) {
    if (attacks_.empty()) throw argument_error("RobustnessSuite: no attacks");
    detail::require_batch_size(batch_size_, "RobustnessSuite");
  }

  // Its members, in the order they run.
  const std::vector<SuiteAttack<T>>& attacks() const { return attacks_; }

  // x_adv = per point of x [N, ...] (labels [N]) the first attack's adversarial point, or x
  // itself where none was found; last_run() tells which attack fooled which point.
  void run(Sequential<T>& model, TensorView<const T> x, std::span<const int> labels, double eps, Tensor<T>& x_adv) {
    detail::require_labels(x, labels, "RobustnessSuite");
    if (x_adv.data() != nullptr && x_adv.data() == x.data())
      throw argument_error("RobustnessSuite: x_adv must not share storage with the inputs");
    const std::int64_t n = x.size(0), d = x.shape().item_numel();
    x_adv.resize(x.shape());
    std::memcpy(x_adv.data(), x.data(), std::size_t(n * d) * sizeof(T));
    SuiteRun r{eps, {}, std::vector<int>(std::size_t(n), SuiteRun::robust), {}, 0, {}};
    {
      const EvalMode<T> eval(model);
      const std::int64_t c = detail::num_classes(model, x, "RobustnessSuite");
      detail::require_classes(labels, c, "RobustnessSuite");
      detail::for_each_batch(n, batch_size_, [&](std::int64_t first, std::int64_t count) {
        const TensorView<const T> logits = model.forward(x.slice(first, count));
        for (std::int64_t k = 0; k < count; ++k)
          if (detail::argmax(logits.data() + k * c, c) != labels[std::size_t(first + k)])
            r.fooled_by[std::size_t(first + k)] = SuiteRun::misclassified_clean;
      });
    }
    r.clean_correct = r.robust_points();
    for (std::size_t a = 0; a < attacks_.size(); ++a) {
      r.attacks.push_back(attacks_[a].name());
      r.removed.push_back(0);
      r.seconds.push_back(0);
      still_.clear();
      for (std::int64_t i = 0; i < n; ++i)
        if (r.fooled_by[std::size_t(i)] == SuiteRun::robust) still_.push_back(i);
      if (still_.empty()) continue;
      detail::gather_items(x, still_, x_still_);
      labels_still_.clear();
      for (std::int64_t i : still_) labels_still_.push_back(labels[std::size_t(i)]);
      const auto start = std::chrono::steady_clock::now();
      const auto fooled = attacks_[a].run(model, x_still_.view(), labels_still_, eps, adv_still_);
      r.seconds.back() = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      for (std::size_t k = 0; k < still_.size(); ++k) {
        if (!fooled[k]) continue;
        const std::int64_t i = still_[k];
        r.fooled_by[std::size_t(i)] = int(a);
        ++r.removed.back();
        std::memcpy(x_adv.data() + i * d, adv_still_.data() + std::int64_t(k) * d, std::size_t(d) * sizeof(T));
      }
    }
    fooled_.resize(std::size_t(n));
    for (std::size_t i = 0; i < fooled_.size(); ++i) fooled_[i] = r.fooled_by[i] != SuiteRun::robust;
    runs_.push_back(std::move(r));
  }

  // Per point of the last run: 1 where it is not robust.
  std::span<const std::uint8_t> fooled() const { return fooled_; }
  // The reference is valid until the next run (runs_ may grow into new storage).
  const SuiteRun& last_run() const { return runs_.back(); }
  // Every run since construction, in order (for reports over several models and radii).
  const std::vector<SuiteRun>& runs() const { return runs_; }

 private:
  std::vector<SuiteAttack<T>> attacks_;
  std::int64_t batch_size_;
  Tensor<T> x_still_, adv_still_;
  std::vector<std::int64_t> still_;
  std::vector<int> labels_still_;
  std::vector<std::uint8_t> fooled_;
  std::vector<SuiteRun> runs_;
};

}  // namespace farbound
