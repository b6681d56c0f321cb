#pragma once
// The step-size control of APGD (Croce & Hein, ICML 2020, section 3.1): no step size to
// tune, the attack halves its own step when progress stalls.
//
// Checkpoints: after the iterations w_j = ceil(p_j N) of an N-step run, with p_0 = 0,
// p_1 = 0.22 and p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06): the intervals between
// checkpoints shrink by 0.03 N from 0.22 N down to 0.06 N. apgd_checkpoints computes them in
// whole iterations as the authors' code does (first interval max(floor(0.22 N), 1), then
// k <- max(k - max(floor(0.03 N), 1), max(floor(0.06 N), 1))); for N = 100 the checks come
// after 22, 41, 57, 70, 80, 87, 93 and 99 iterations, the paper's w_j.
//
// At a checkpoint closing an interval of k iterations the step is halved and the iterate
// reset to the best point so far when
//   (a) the loss rose, f(x^{i}) > f(x^{i-1}), in at most rho k = 0.75 k of those k steps
//       (the step oscillates instead of climbing), or
//   (b) the step was not halved at the previous checkpoint and the best loss has not
//       improved since it (the step is too large to find anything better).
#include <algorithm>
#include <vector>

namespace farbound {

// The 0-based iterations after which APGD checks its step (see above), in increasing order.
inline std::vector<int> apgd_checkpoints(int steps) {
  std::vector<int> at;
  const int shrink = std::max(int(0.03 * steps), 1), shortest = std::max(int(0.06 * steps), 1);
  for (int k = std::max(int(0.22 * steps), 1), last = -1; last + k < steps; k = std::max(k - shrink, shortest)) {
    last += k;
    at.push_back(last);
  }
  return at;
}

// The step of one item: created with the initial step and the loss at the starting point,
// told the loss after every iteration and asked at every checkpoint.
class ApgdStepSize {
 public:
  // APGD's rho (Croce & Hein): the share of improving steps below which a checkpoint halves the step.
  static constexpr double rho = 0.75;

  // Starts at step size `step` with the loss of the starting point.
  ApgdStepSize(double step, double start_loss)
      : step_(step), best_(start_loss), last_(start_loss), best_at_check_(start_loss) {}

  // The loss at the new iterate. Returns true when it is the best so far (the caller keeps
  // that point and its gradient, to come back to).
  bool record(double loss) {
    rises_ += loss > last_;
    last_ = loss;
    if (!(loss > best_)) return false;
    best_ = loss;
    return true;
  }

  // At the checkpoint closing an interval of `interval` iterations. Returns true when the
  // step was halved: the caller resets the iterate to the best point.
  bool check(int interval) {
    const bool oscillating = double(rises_) <= rho * double(interval);
    const bool stalled = !halved_ && !(best_ > best_at_check_);
    halved_ = oscillating || stalled;
    if (halved_) step_ /= 2;
    rises_ = 0;
    best_at_check_ = best_;
    return halved_;
  }

  // The current step size.
  double step() const { return step_; }
  // The best loss seen so far.
  double best_loss() const { return best_; }

 private:
  double step_, best_, last_, best_at_check_;
  int rises_ = 0;
  // The authors start with "halved" so that (b) cannot fire at the first checkpoint.
  bool halved_ = true;
};

}  // namespace farbound
