#pragma once
// JacobianTerm: lambda * (1/2) ||J||_F^2 of the logits, estimated by finite differences over
// each anchor's neighbours (regularize/jacobian.hpp), over every anchor of the step (clean
// and adversarial), as a mean over them scaled by (B + A) / B (B: the whole step's anchors).
#include <cstdint>

#include "farbound/regularize/jacobian.hpp"
#include "farbound/train/objective.hpp"

namespace farbound {

// lambda * (1/2) ||J||_F^2 of the logits over every anchor, from finite differences over the
// neighbours (see above).
template <class T>
class JacobianTerm final : public ObjectiveTerm<T> {
 public:
  // sigma: the neighbours' noise level, the finite differences' step.
  JacobianTerm(double lambda, double sigma) : lambda_(T(lambda)), sigma_(sigma) {}

  TermLoss add(const StepRows<T>& rows, TensorView<T> grad) override {
    const std::int64_t anchors = rows.anchors(), k = rows.neighbours_per_anchor;
    TermLoss out;
    out.regulariser = double(jacobian_penalty<T>(rows.anchor_logits(), rows.neighbour_logits(), sigma_,
                                                 double(lambda_) * double(anchors) / double(rows.step_anchors),
                                                 grad.slice(0, anchors), grad.slice(anchors, anchors * k))) *
                      double(anchors) / double(rows.step_anchors);
    out.total = double(lambda_) * out.regulariser;
    return out;
  }

 private:
  T lambda_;
  double sigma_;
};

}  // namespace farbound
