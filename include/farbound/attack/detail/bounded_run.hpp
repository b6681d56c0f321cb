#pragma once
// What the eps-bounded attacks (APGD, Square, FAB-T) do first and between their restarts or
// targets: check the arguments, start x_adv as the clean points (the answer for every item
// the attack does not fool), and list the items still to attack.
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "farbound/attack/bounds.hpp"
#include "farbound/nn/batches.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound::detail {

// require_attack_arguments, a valid eps, x inside the bounds; then x_adv = a copy of x.
template <class T>
void begin_bounded_run(const Sequential<T>& model, TensorView<const T> x, std::span<const int> labels, double eps,
                       Tensor<T>& x_adv, std::int64_t min_classes, const Bounds& bounds, const std::string& who) {
  require_attack_arguments(model, x, labels, x_adv, min_classes, who);
  require_epsilon(eps, who);
  bounds.require_inside(x, who.c_str());
  x_adv.resize(x.shape());
  std::memcpy(x_adv.data(), x.data(), std::size_t(x.numel()) * sizeof(T));
}

// items = the indices i with !fooled[i], in order.
inline void unfooled_items(std::span<const std::uint8_t> fooled, std::vector<std::int64_t>& items) {
  items.clear();
  for (std::size_t i = 0; i < fooled.size(); ++i)
    if (!fooled[i]) items.push_back(std::int64_t(i));
}

}  // namespace farbound::detail
