#pragma once
// Neighbours: K perturbed copies of every anchor and their squared distances (step 2 of the
// data-sparsity framework): x_ik = x_i + noise, r_ik = ||x_ik - x_i||^2.
//
// Neighbour k of anchor `id` in epoch e draws from RandomStream(seed, Purpose::neighbour,
// e, id, k), so it is the same whatever the batch it falls in, the thread count or the
// order of processing, and GaussianNoise neighbours are bitwise those of the CUDA kernel
// (sampling/gaussian_row.hpp). r_ik is computed from the values actually stored (x_ik - x_i
// in the element type, summed in double), not from the noise that was asked for: the loss
// divides by the distance the network really sees.
//
// anchors may be any rows: images, or the feature maps of an intermediate layer when the
// noise is injected there.
#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/random.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/sampling/gaussian_row.hpp"
#include "farbound/sampling/perturbation.hpp"

namespace farbound {

// K neighbours per anchor, x + noise drawn by the perturbation P, the same for any batching.
template <class P = GaussianNoise>
class Neighbours {
 public:
  // K >= 0 neighbours per anchor (K = 0: none, no smoothness term).
  Neighbours(std::int64_t per_anchor, P perturbation, std::uint64_t seed)
      : k_(per_anchor), perturbation_(std::move(perturbation)), seed_(seed) {
    if (k_ < 0 || k_ > std::int64_t(UINT32_MAX))
      throw argument_error("Neighbours: num_neighbor_per_anchor must be in [0, 2^32), got " + std::to_string(k_));
  }

  // K, neighbours per anchor.
  std::int64_t per_anchor() const { return k_; }
  // The perturbation that draws them.
  const P& perturbation() const { return perturbation_; }
  // The seed of their noise.
  std::uint64_t seed() const { return seed_; }

  // fill's checks of its arguments' shapes for B ids (shared with cuda::gaussian_neighbours).
  void check_fill_shapes(std::int64_t B, const Shape& anchors, const Shape& neighbours, const Shape& r) const {
    if (anchors.rank() < 2 || anchors[0] != B)
      throw shape_error("Neighbours::fill: anchors " + anchors.to_string() + " must be [" + std::to_string(B) +
                        ", ...] for " + std::to_string(B) + " ids");
    if (!(neighbours == anchors.with_batch(B * k_)))
      throw shape_error("Neighbours::fill: neighbours " + neighbours.to_string() + " must be " +
                        anchors.with_batch(B * k_).to_string() + " for anchors " + anchors.to_string() +
                        " and K = " + std::to_string(k_));
    if (r.rank() != 1 || r[0] != B * k_)
      throw shape_error("Neighbours::fill: r " + r.to_string() + " must be [" + std::to_string(B * k_) + "]");
    perturbation_.check_item_numel(anchors.item_numel());
  }

  // For anchors [B, ...] with ids [B]: neighbours [B*K, ...] (rows i*K .. i*K + K - 1 belong
  // to anchor i) and r [B*K]. neighbours must not overlap anchors.
  template <class T>
    requires Perturbation<P, T>
  void fill(std::uint32_t epoch, std::span<const std::uint32_t> ids, std::type_identity_t<TensorView<const T>> anchors,
            TensorView<T> neighbours, TensorView<T> r) const {
    check_fill_shapes(std::int64_t(ids.size()), anchors.shape(), neighbours.shape(), r.shape());
    const auto B = std::int64_t(ids.size());

    const auto item = std::size_t(anchors.shape().item_numel());
    parallel_for(B * k_, [&](std::int64_t row) {
      const std::int64_t i = row / k_, k = row % k_;
      const std::span<const T> x(anchors.data() + i * std::int64_t(item), item);
      const std::span<T> out(neighbours.data() + row * std::int64_t(item), item);
      perturbation_.apply(RandomStream(seed_, Purpose::neighbour, epoch, ids[std::size_t(i)], std::uint32_t(k)), x, out);
      r[row] = T(accumulate_squared_distance(x.data(), out.data(), item, 0.0));
    }, detail::min_parallel_rows(std::int64_t(item)));
  }

 private:
  std::int64_t k_;
  P perturbation_;
  std::uint64_t seed_;
};

}  // namespace farbound
