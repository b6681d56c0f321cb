#pragma once
// AnchorStream: the order in which an epoch visits the anchors, cut into batches
// (docs/papers.md section 1, step 1: "anchors = L u U, shuffled").
//
// shuffle(epoch) makes a uniformly random permutation of the ids 0 .. n-1 (labelled and
// unlabelled anchors together) by Fisher-Yates, drawing swap j for position i as
// RandomStream(seed, Purpose::shuffle, epoch).below(i, i + 1): the order is a function of
// (seed, epoch) alone. Batches are consecutive runs of that order; the last one of an
// epoch may be shorter. The permutation lives in one buffer allocated at construction.
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/core/random.hpp"

namespace farbound {

// The order of the anchors in each epoch: a permutation drawn from (seed, epoch).
class AnchorStream {
 public:
  // n anchors, 1 <= n <= 2^26 (one random stream holds 2^26 numbers).
  AnchorStream(std::int64_t anchor_count, std::uint64_t seed) : seed_(seed) {
    constexpr std::int64_t max_anchors = std::int64_t(RandomStream::max_blocks) * 4;
    if (anchor_count < 1 || anchor_count > max_anchors)
      throw argument_error("AnchorStream: " + std::to_string(anchor_count) + " anchors; between 1 and " +
                           std::to_string(max_anchors) + " are supported");
    order_.resize(std::size_t(anchor_count));
    std::iota(order_.begin(), order_.end(), std::uint32_t(0));
  }

  // Number of anchors.
  std::int64_t size() const { return std::int64_t(order_.size()); }
  // The seed the permutations are drawn from.
  std::uint64_t seed() const { return seed_; }

  // Sets the order of epoch `epoch` (until then the order is 0, 1, ..., n-1).
  void shuffle(std::uint32_t epoch) {
    const RandomStream s(seed_, Purpose::shuffle, epoch);
    std::iota(order_.begin(), order_.end(), std::uint32_t(0));
    for (std::size_t i = order_.size() - 1; i > 0; --i) std::swap(order_[i], order_[s.below(i, std::uint32_t(i + 1))]);
  }

  // The anchor ids in the order of the last shuffle() (0, 1, ..., n-1 before the first).
  std::span<const std::uint32_t> order() const { return order_; }

  // Number of batches of batch_size anchors (the last may be shorter).
  std::int64_t batch_count(std::int64_t batch_size) const {
    require_batch_size(batch_size);
    return (size() + batch_size - 1) / batch_size;
  }

  // The ids of batch `index`.
  std::span<const std::uint32_t> batch(std::int64_t index, std::int64_t batch_size) const {
    const std::int64_t count = batch_count(batch_size);
    if (index < 0 || index >= count)
      throw argument_error("AnchorStream: batch " + std::to_string(index) + " out of range for " + std::to_string(count) +
                           " batches of " + std::to_string(batch_size));
    const std::int64_t first = index * batch_size;
    return std::span<const std::uint32_t>(order_).subspan(std::size_t(first), std::size_t(std::min(batch_size, size() - first)));
  }

 private:
  static void require_batch_size(std::int64_t batch_size) {
    if (batch_size < 1) throw argument_error("AnchorStream: batch size must be >= 1, got " + std::to_string(batch_size));
  }

  std::uint64_t seed_;
  std::vector<std::uint32_t> order_;
};

}  // namespace farbound
