#pragma once
// The loop of the attacks that move every item of a batch until the model stops giving it its
// label (DeepFool, SubspaceDeepFool, InvisibleAttack): each step runs one forward pass over the
// items still to move only, packed into one smaller batch, so that items already across the
// boundary cost nothing more; the attack's own step then moves those of them that the model
// still gives their label. The layers give an item the same bits whatever else is in its batch
// (nn/detail/gemm.hpp), so packing changes no result, only the time.
#include <cstdint>
#include <numeric>
#include <span>
#include <vector>

#include "farbound/nn/batches.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound::detail {

// The rows of the packed batch that an attack's step sees.
struct PackedRows {
  std::span<const std::int64_t> items;     // items[r]: the item of the batch in row r
  std::span<const std::uint8_t> on_label;  // on_label[r]: the model still gives it its label; only those move
  std::int64_t size() const { return std::int64_t(items.size()); }
};

template <class T>
class StepUntilFooled {
 public:
  // Moves the items of xa (the batch's starting points, labels y) in place: at most max_steps
  // times, step(s, logits, rows) with the logits [rows, C] of the packed rows, whose
  // activations the model keeps for backward passes. Then fooled[k] = whether the prediction
  // at xa[k] differs from y[k].
  template <class Step>
  void run(Sequential<T>& model, TensorView<T> xa, std::span<const int> y, int max_steps,
           std::span<std::uint8_t> fooled, Step&& step) {
    items_.resize(std::size_t(xa.size(0)));
    std::iota(items_.begin(), items_.end(), std::int64_t(0));
    for (int s = 0; s < max_steps && !items_.empty(); ++s) {
      gather_items<T>(TensorView<const T>(xa), items_, packed_);
      const TensorView<const T> logits = model.forward(packed_.view());
      const std::int64_t c = logits.size(1);
      on_label_.resize(items_.size());
      bool any = false;
      for (std::size_t r = 0; r < items_.size(); ++r) {
        on_label_[r] = argmax(logits.data() + std::int64_t(r) * c, c) == y[std::size_t(items_[r])];
        any = any || on_label_[r];
      }
      if (!any) break;
      step(s, logits, PackedRows{items_, on_label_});
      // Next step: only the items that were still to move before this one.
      std::size_t kept = 0;
      for (std::size_t r = 0; r < items_.size(); ++r)
        if (on_label_[r]) items_[kept++] = items_[r];
      items_.resize(kept);
    }

    const TensorView<const T> logits = model.forward(TensorView<const T>(xa));
    const std::int64_t c = logits.size(1);
    for (std::int64_t k = 0; k < xa.size(0); ++k)
      fooled[std::size_t(k)] = argmax(logits.data() + k * c, c) != y[std::size_t(k)];
  }

 private:
  Tensor<T> packed_;
  std::vector<std::int64_t> items_;
  std::vector<std::uint8_t> on_label_;
};

// grad_x (f_k - f_y) for every packed row on its label, with k = rival(r) (a row whose rival
// is its label gets none), in one backward pass from the logits of the last forward: the
// items do not interact. Returns [rows, ...].
template <class T, class Rival>
TensorView<const T> margin_gradients(Sequential<T>& model, TensorView<const T> logits, PackedRows rows,
                                     std::span<const int> y, Tensor<T>& grad_logits, Rival&& rival) {
  const std::int64_t c = logits.size(1);
  grad_logits.resize(logits.shape());
  grad_logits.zero();
  for (std::int64_t r = 0; r < rows.size(); ++r) {
    if (!rows.on_label[std::size_t(r)]) continue;
    const int label = y[std::size_t(rows.items[std::size_t(r)])], k = rival(r);
    if (k == label) continue;
    grad_logits[r * c + k] = T(1);
    grad_logits[r * c + label] = T(-1);
  }
  return model.backward(grad_logits.view(), InputGrad::compute, ParamGrads::skip);
}

}  // namespace farbound::detail
