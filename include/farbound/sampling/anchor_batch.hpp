#pragma once
// One training step's inputs for the smoothness loss, in one tensor for one forward pass:
//
//   inputs [B + B*K, ...]: rows 0 .. B-1 the anchors ids[0..B-1], then for anchor i its
//                          neighbours at rows B + i*K .. B + i*K + K - 1
//   r      [B*K]:          r_ik = ||x_ik - x_i||^2
//   labels [B]:            the anchors' labels, -1 for unlabelled copies
//
// which is the layout smoothness_loss expects of the logits:
//   AnchorStream stream(cloud.anchor_count(), seed);
//   for (epoch ...) { stream.shuffle(epoch);
//     for (b ...) { fill_anchor_batch(cloud, neighbours, epoch, stream.batch(b, B), images, image_labels,
//                                     inputs, r, labels);
//                   logits = model.forward(inputs);
//                   smoothness_loss(logits.slice(0, B'), logits.slice(B', B' * K), r, labels, lambda, ...); } }
// (B' = the batch's actual size.) The caller owns inputs, r and labels; they are resized,
// so batches of one size allocate nothing after the first.
#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include "farbound/core/tensor.hpp"
#include "farbound/sampling/neighbours.hpp"
#include "farbound/sampling/unlabelled_cloud.hpp"

namespace farbound {

// The labelled set is a float tensor [N, ...] in data units with N labels.
template <class T, class UnlabelledP, class NeighbourP>
void fill_anchor_batch(const UnlabelledCloud<UnlabelledP>& cloud, const Neighbours<NeighbourP>& neighbours,
                       std::uint32_t epoch, std::span<const std::uint32_t> ids,
                       std::type_identity_t<TensorView<const T>> labelled, std::span<const int> labelled_labels,
                       Tensor<T>& inputs, Tensor<T>& r, std::vector<int>& labels) {
  if (labelled.rank() < 2)
    throw shape_error("fill_anchor_batch: the labelled set " + labelled.shape().to_string() + " is not [N, ...]");
  const auto B = std::int64_t(ids.size()), K = neighbours.per_anchor();
  inputs.resize(labelled.shape().with_batch(B + B * K));
  r.resize({B * K});
  cloud.gather_anchors(epoch, ids, labelled, labelled_labels, inputs.slice(0, B), labels);
  neighbours.fill(epoch, ids, inputs.slice(0, B), inputs.slice(B, B * K), r.view());
}

}  // namespace farbound
