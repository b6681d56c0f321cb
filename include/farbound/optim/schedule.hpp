#pragma once
// Learning-rate schedules: lr(t) for the optimiser step t = 0, 1, 2, ...
//
// A schedule is a pure function of the step count, so resuming from a checkpoint only
// needs the optimiser's step count. Optimizer::step(schedule) applies lr(steps()) to the
// step it is about to take: the first step uses lr(0) (PyTorch's LambdaLR convention).
// (The reference code steps its scheduler after the optimiser and sets lr(t) only from
// the second step on, i.e. it lags one step behind; with lr constant for the first L
// steps that shifts the cosine by one step out of T.)
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <sstream>
#include <string>

#include "farbound/core/error.hpp"

namespace farbound {

namespace detail {

// "name: what (value)" as an argument_error.
template <class V>
[[noreturn]] void bad_schedule_argument(const char* where, const char* what, V value) {
  std::ostringstream s;
  s << where << ": " << what << " (got " << value << ")";
  throw argument_error(s.str());
}

inline double checked_base_lr(const char* where, double base) {
  if (!std::isfinite(base) || base < 0) bad_schedule_argument(where, "base learning rate must be finite and >= 0", base);
  return base;
}

// base/2 * (1 + cos(pi * t/T)) for 0 <= t <= T, 0 after T.
inline double cosine_decay(double base, std::int64_t t, std::int64_t T) {
  if (t >= T) return 0.0;
  return base / 2 * (1 + std::cos(std::numbers::pi * static_cast<double>(t) / static_cast<double>(T)));
}

}  // namespace detail

// The learning rate as a function of the optimiser step.
class LearningRateSchedule {
 public:
  virtual ~LearningRateSchedule() = default;

  // The learning rate of optimiser step t (t = 0 for the first step).
  double lr(std::int64_t t) const {
    if (t < 0) detail::bad_schedule_argument("LearningRateSchedule::lr", "step must be >= 0", t);
    return at(t);
  }
  // The learning rate at optimiser step t (the first step is 0).
  double operator()(std::int64_t t) const { return lr(t); }

  // What the schedule is, e.g. "LinearCosineLR(base 0.001, constant for 1000 steps, 0 at step 2000)".
  virtual std::string describe() const = 0;

 protected:
  // The learning rate at step t, t >= 0.
  virtual double at(std::int64_t t) const = 0;
};

// lr(t) = base.
class ConstantLR final : public LearningRateSchedule {
 public:
  // The learning rate `base` at every step.
  explicit ConstantLR(double base) : base_(detail::checked_base_lr("ConstantLR", base)) {}
  std::string describe() const override {
    std::ostringstream s;
    s << "ConstantLR(base " << base_ << ")";
    return s.str();
  }

 protected:
  // The base rate.
  double at(std::int64_t) const override { return base_; }

 private:
  double base_;
};

// lr(t) = base * gamma^floor(t / step_size)   (PyTorch's StepLR).
class StepLR final : public LearningRateSchedule {
 public:
  // base, multiplied by gamma every step_size steps.
  StepLR(double base, std::int64_t step_size, double gamma = 0.1)
      : base_(detail::checked_base_lr("StepLR", base)), step_size_(step_size), gamma_(gamma) {
    if (step_size < 1) detail::bad_schedule_argument("StepLR", "step_size must be >= 1", step_size);
    if (!std::isfinite(gamma) || gamma <= 0) detail::bad_schedule_argument("StepLR", "gamma must be finite and > 0", gamma);
  }
  std::string describe() const override {
    std::ostringstream s;
    s << "StepLR(base " << base_ << ", times " << gamma_ << " every " << step_size_ << " steps)";
    return s.str();
  }

 protected:
  // base * gamma^(t / step_size).
  double at(std::int64_t t) const override { return base_ * std::pow(gamma_, static_cast<double>(t / step_size_)); }

 private:
  double base_;
  std::int64_t step_size_;
  double gamma_;
};

// lr(t) = base/2 * (1 + cos(pi * t/T)) for t <= T, then 0   (PyTorch's CosineAnnealingLR
// with eta_min 0, except that it stays at 0 after T instead of rising again).
class CosineLR final : public LearningRateSchedule {
 public:
  // Cosine decay from base to 0 over total_steps.
  CosineLR(double base, std::int64_t total_steps) : base_(detail::checked_base_lr("CosineLR", base)), total_(total_steps) {
    if (total_steps < 1) detail::bad_schedule_argument("CosineLR", "total steps T must be >= 1", total_steps);
  }
  std::string describe() const override {
    std::ostringstream s;
    s << "CosineLR(base " << base_ << ", 0 at step " << total_ << ")";
    return s.str();
  }

 protected:
  // base / 2 (1 + cos(pi t / T)).
  double at(std::int64_t t) const override { return detail::cosine_decay(base_, t, total_); }

 private:
  double base_;
  std::int64_t total_;
};

// Steps per epoch of the reference training loop: S = floor(N_labelled * (Nu + 1) / batch),
// N_labelled labelled points, Nu unlabelled points made per labelled point, `batch` anchors
// per step.
inline std::int64_t steps_per_epoch(std::int64_t n_labelled, std::int64_t unlabelled_per_labelled, std::int64_t batch) {
  constexpr const char* where = "steps_per_epoch";
  if (n_labelled < 1) detail::bad_schedule_argument(where, "number of labelled points must be >= 1", n_labelled);
  if (unlabelled_per_labelled < 0)
    detail::bad_schedule_argument(where, "unlabelled points per labelled point must be >= 0", unlabelled_per_labelled);
  if (batch < 1) detail::bad_schedule_argument(where, "batch size must be >= 1", batch);
  if (unlabelled_per_labelled >= std::numeric_limits<std::int64_t>::max() / n_labelled)
    detail::bad_schedule_argument(where, "N_labelled * (Nu + 1) overflows; Nu", unlabelled_per_labelled);
  const std::int64_t anchors = n_labelled * (unlabelled_per_labelled + 1);
  if (anchors < batch) {
    std::ostringstream s;
    s << where << ": batch size " << batch << " exceeds the " << anchors << " anchors of an epoch (0 steps per epoch)";
    throw argument_error(s.str());
  }
  return anchors / batch;
}

// The schedule of the data-sparsity paper: constant, then cosine to 0, per optimiser step.
//   lr(t) = base                                     for t <= L
//   lr(t) = base/2 * (1 + cos(pi * (t-L) / (T-L)))   for L < t <= T, then 0
//   L = linear_epoch * S,  T = num_epochs * S,  S = steps per epoch (see steps_per_epoch).
class LinearCosineLR final : public LearningRateSchedule {
 public:
  // The reference's LinearCosine: constant for linear_epoch epochs, then cosine to 0 at num_epochs.
  LinearCosineLR(double base, std::int64_t linear_epoch, std::int64_t num_epochs, std::int64_t steps_per_epoch)
      : base_(detail::checked_base_lr("LinearCosineLR", base)) {
    constexpr const char* where = "LinearCosineLR";
    if (steps_per_epoch < 1) detail::bad_schedule_argument(where, "steps per epoch S must be >= 1", steps_per_epoch);
    if (linear_epoch < 0) detail::bad_schedule_argument(where, "linear_epoch must be >= 0", linear_epoch);
    if (num_epochs <= linear_epoch) {
      std::ostringstream s;
      s << where << ": num_epochs (got " << num_epochs << ") must exceed linear_epoch (got " << linear_epoch
        << "), i.e. T = num_epochs*S must exceed L = linear_epoch*S";
      throw argument_error(s.str());
    }
    if (num_epochs > std::numeric_limits<std::int64_t>::max() / steps_per_epoch)
      detail::bad_schedule_argument(where, "num_epochs * steps_per_epoch overflows; num_epochs", num_epochs);
    linear_ = linear_epoch * steps_per_epoch;
    total_ = num_epochs * steps_per_epoch;
  }

  // L: steps at the constant rate.
  std::int64_t linear_steps() const { return linear_; }  // L
  // T: all steps.
  std::int64_t total_steps() const { return total_; }    // T

  std::string describe() const override {
    std::ostringstream s;
    s << "LinearCosineLR(base " << base_ << ", constant to step " << linear_ << ", cosine to 0 at step " << total_ << ")";
    return s.str();
  }

 protected:
  // base for t <= L, then base / 2 (1 + cos(pi (t - L) / (T - L))).
  double at(std::int64_t t) const override {
    return t <= linear_ ? base_ : detail::cosine_decay(base_, t - linear_, total_ - linear_);
  }

 private:
  double base_;
  std::int64_t linear_ = 0;
  std::int64_t total_ = 0;
};

}  // namespace farbound
