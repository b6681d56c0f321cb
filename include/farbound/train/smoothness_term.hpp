#pragma once
// The data-sparsity framework's smoothness loss (regularize/smoothness_loss.hpp) as
// objective terms:
//   SmoothnessTerm            lambda * GR over every anchor of the step, clean and
//                             adversarial, labelled or not; with adversarial rows the
//                             reference takes GR on the FGSM copies and their own neighbours
//                             too. GR is a mean over the B + A anchors scaled by (B + A) / B.
//   CrossEntropySmoothnessTerm the paper's loss (1/B) sum_i [m_i CE_i + lambda GR_i] in the
//                             fused pass that computes both at once; for steps without
//                             adversarial rows, where it replaces CrossEntropyTerm +
//                             SmoothnessTerm by one pass over the logits.
// B is the whole step's anchors (StepRows::step_anchors): smoothness_loss divides by the
// rows it sees, so a shard's loss and gradient are scaled by the shard's B_s / B (exactly 1
// when the step is one shard).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/core/simd.hpp"
#include "farbound/regularize/smoothness_loss.hpp"
#include "farbound/train/objective.hpp"

namespace farbound {

// lambda * GR over every anchor of the step, clean and adversarial (see above).
template <class T>
class SmoothnessTerm final : public ObjectiveTerm<T> {
 public:
  // lambda: the regulariser's weight.
  explicit SmoothnessTerm(double lambda) : lambda_(T(lambda)) {}

  TermLoss add(const StepRows<T>& rows, TensorView<T> grad) override {
    const std::int64_t anchors = rows.anchors(), c = rows.logits.size(1);
    const auto anchor_logits = rows.anchor_logits();
    const auto neighbour_logits = rows.neighbour_logits();
    unlabelled_.assign(std::size_t(anchors), -1);
    anchor_grad_.resize(anchor_logits.shape());
    neighbour_grad_.resize(neighbour_logits.shape());
    const auto v = smoothness_loss<T>(anchor_logits, neighbour_logits, rows.squared_distances, unlabelled_, lambda_,
                                      anchor_grad_.view(), neighbour_grad_.view());
    const T scale = T(double(anchors) / double(rows.step_anchors));
    simd::axpy(scale, anchor_grad_.data(), grad.data(), std::size_t(anchor_grad_.numel()));
    simd::axpy(scale, neighbour_grad_.data(), grad.data() + anchors * c, std::size_t(neighbour_grad_.numel()));
    TermLoss out;
    out.regulariser = double(v.smoothness) * double(scale);
    out.total = double(lambda_) * out.regulariser;
    return out;
  }

 private:
  T lambda_;
  std::vector<int> unlabelled_;
  Tensor<T> anchor_grad_, neighbour_grad_;
};

// The paper's cross-entropy + lambda GR in one fused pass; steps without adversarial rows only.
template <class T>
class CrossEntropySmoothnessTerm final : public ObjectiveTerm<T> {
 public:
  // lambda: the regulariser's weight.
  explicit CrossEntropySmoothnessTerm(double lambda) : lambda_(T(lambda)) {}

  TermLoss add(const StepRows<T>& rows, TensorView<T> grad) override {
    if (rows.adversarial > 0)
      throw argument_error("CrossEntropySmoothnessTerm: the fused loss has no adversarial rows; use "
                           "CrossEntropyTerm and SmoothnessTerm");
    const std::int64_t b = rows.clean, k = rows.neighbours_per_anchor;
    grad_.resize(rows.logits.shape());
    const auto v = smoothness_loss<T>(rows.logits.slice(0, b), rows.neighbour_logits(), rows.squared_distances, rows.labels,
                                      lambda_, grad_.slice(0, b), grad_.slice(b, b * k));
    const double scale = double(b) / double(rows.step_anchors);
    simd::axpy(T(scale), grad_.data(), grad.data(), std::size_t(grad_.numel()));
    return {double(v.cross_entropy) * scale, double(v.smoothness) * scale, double(v.total) * scale};
  }

 private:
  T lambda_;
  Tensor<T> grad_;
};

}  // namespace farbound
