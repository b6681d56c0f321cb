#pragma once
// The smoothness loss's inputs the benchmarks time it on (micro/smoothness_loss.cpp,
// smoothness_classes.cpp): B*K neighbour rows, K = 8 neighbours per anchor, C classes,
// logits standard normal, r uniform in [0.5, 1.5), anchor i labelled i mod C, and gradient
// tensors touched once (at B*K = 262144 and C = 1000 the first write to the 1 GB of
// gradients would otherwise time 260 000 page faults along with a single timed call).
#include <algorithm>
#include <cstdint>
#include <vector>

#include "farbound/core/random.hpp"
#include "farbound/regularize/smoothness_loss.hpp"

namespace farbound::bench {

struct SmoothnessProblem {
  static constexpr std::int64_t neighbours_per_anchor = 8;
  Tensor<float> anchors, neighbours, r, anchor_grad, neighbour_grad;
  std::vector<std::int32_t> labels;

  SmoothnessProblem(std::int64_t rows, std::int64_t C)
      : anchors({rows / neighbours_per_anchor, C}),
        neighbours({rows, C}),
        r({rows}),
        anchor_grad({rows / neighbours_per_anchor, C}),
        neighbour_grad({rows, C}),
        labels(static_cast<std::size_t>(rows / neighbours_per_anchor)) {
    fill_normal(anchors, 0);
    fill_normal(neighbours, 1);
    RandomStream(1, Purpose::user, 2).uniform(r.span());
    for (float& v : r.span()) v += 0.5f;
    anchor_grad.zero();
    neighbour_grad.zero();
    for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = std::int32_t(std::int64_t(i) % C);
  }

  // The loss through the lane walker Blocks (detail::SimdBlocks: what smoothness_loss runs).
  template <class Blocks = detail::SimdBlocks>
  SmoothnessLossValue<float> run() {
    return detail::smoothness_loss_with<Blocks, float>(anchors.view(), neighbours.view(), r.view(), labels, 1.0f,
                                                       anchor_grad.view(), neighbour_grad.view());
  }

 private:
  // Standard normals, in runs of 2^20 (one random stream holds at most 2^26 numbers).
  static void fill_normal(Tensor<float>& t, std::uint32_t salt) {
    constexpr std::int64_t run = std::int64_t(1) << 20;
    for (std::int64_t begin = 0; begin < t.numel(); begin += run)
      RandomStream(1, Purpose::user, salt, std::uint32_t(begin / run))
          .normal(t.span().subspan(std::size_t(begin), std::size_t(std::min(run, t.numel() - begin))));
  }
};

}  // namespace farbound::bench
