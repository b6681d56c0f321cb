#pragma once
// CrossEntropyTerm: the cross-entropy of the labelled clean anchors and of the adversarial
// rows, mixed as (c CE(x) + r CE(x_adv)) / (c + r): c = 1, r = 0.3 is the reference's FGSM
// training, c = 0, r = 1 Madry et al.'s adversarial-only PGD training (which does not read
// the clean rows), no adversarial rows plain training. Each part is a mean over its rows
// scaled by rows / B, i.e. a sum over the rows divided by the B anchors of the step (all its
// shards).
#include <cstddef>
#include <cstdint>
#include <string>

#include "farbound/core/error.hpp"
#include "farbound/core/simd.hpp"
#include "farbound/nn/loss.hpp"
#include "farbound/train/objective.hpp"

namespace farbound {

// The cross-entropy of the clean anchors and the adversarial rows, weighted c and r (see above).
template <class T>
class CrossEntropyTerm final : public ObjectiveTerm<T> {
 public:
  // The weights c (clean) and r (adversarial): both >= 0, with a positive sum.
  explicit CrossEntropyTerm(double clean_weight = 1, double adversarial_weight = 0)
      : clean_weight_(clean_weight), adversarial_weight_(adversarial_weight) {
    if (!(clean_weight >= 0) || !(adversarial_weight >= 0) || !(clean_weight + adversarial_weight > 0))
      throw argument_error("CrossEntropyTerm: weights must be >= 0 with a positive sum, got " +
                           std::to_string(clean_weight) + " and " + std::to_string(adversarial_weight));
  }

  TermLoss add(const StepRows<T>& rows, TensorView<T> grad) override {
    TermLoss out;
    const std::int64_t c = rows.logits.size(1);
    const auto step_anchors = double(rows.step_anchors);
    std::int64_t labelled = 0;
    for (int y : rows.labels) labelled += y >= 0;
    if (labelled == 0) return out;
    const double sum = clean_weight_ + adversarial_weight_;
    if (clean_weight_ > 0) {
      const double w = clean_weight_ * double(labelled) / step_anchors / sum;
      out.cross_entropy = w * double(cross_entropy<T>(rows.clean_logits(), rows.labels, ce_grad_));
      simd::axpy(T(w), ce_grad_.data(), grad.data(), std::size_t(ce_grad_.numel()));
    }
    if (rows.adversarial > 0 && adversarial_weight_ > 0) {
      const double w = double(rows.adversarial) / step_anchors * adversarial_weight_ / sum;
      out.cross_entropy += w * double(cross_entropy<T>(rows.adversarial_logits(), rows.adversarial_labels, ce_grad_));
      simd::axpy(T(w), ce_grad_.data(), grad.data() + rows.adversarial_row() * c, std::size_t(ce_grad_.numel()));
    }
    out.total = out.cross_entropy;
    return out;
  }

  bool reads_clean_rows() const override { return clean_weight_ > 0; }

 private:
  double clean_weight_, adversarial_weight_;
  Tensor<T> ce_grad_;
};

}  // namespace farbound
