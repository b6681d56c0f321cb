#pragma once
// Stratified train / validation split, as the reference draws it: within each class, the
// items are shuffled and the first floor(n * train_fraction) go to training, the rest to
// validation; num_train / num_val per class then keep only the first that many of each
// part (asking for more than a class has is an argument_error, where the reference would
// silently take fewer). The shuffle of class c draws from RandomStream(seed,
// Purpose::split, c), so a split depends only on the seed and the labels.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/core/random.hpp"

namespace farbound {

// Fisher-Yates shuffle in place; the swap partner of position i is element i of `stream`.
inline void shuffle(std::span<std::int64_t> items, const RandomStream& stream) {
  if (items.size() > 4 * RandomStream::max_blocks)
    throw argument_error("shuffle: " + std::to_string(items.size()) + " items exceed one stream's 2^26 numbers");
  for (std::size_t i = items.size(); i > 1; --i) {
    const std::uint32_t j = stream.below(i - 1, static_cast<std::uint32_t>(i));
    std::swap(items[i - 1], items[j]);
  }
}

// How stratified_split divides a data set: training fraction and per-class counts.
struct SplitOptions {
  double train_fraction = 0.8;      // of each class, to training
  std::int64_t train_per_class = -1;  // the reference's num_train: keep this many per class (-1: all)
  std::int64_t val_per_class = -1;    // the reference's num_val
};

// Indices into the labelled set, class by class (class 0's first).
struct TrainValSplit {
  // Data-set indices of the training items.
  std::vector<std::int64_t> train;
  // Data-set indices of the validation items.
  std::vector<std::int64_t> val;
};

inline TrainValSplit stratified_split(std::span<const int> labels, int num_classes, std::uint64_t seed,
                                      const SplitOptions& options = {}) {
  if (!(options.train_fraction >= 0.0 && options.train_fraction <= 1.0))
    throw argument_error("stratified_split: train_fraction " + std::to_string(options.train_fraction) +
                         " outside [0, 1]");
  if (num_classes < 1) throw argument_error("stratified_split: num_classes must be positive");
  std::vector<std::vector<std::int64_t>> by_class(static_cast<std::size_t>(num_classes));
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= num_classes)
      throw argument_error("stratified_split: label " + std::to_string(labels[i]) + " of item " + std::to_string(i) +
                           " outside [0, " + std::to_string(num_classes) + ")");
    by_class[static_cast<std::size_t>(labels[i])].push_back(std::int64_t(i));
  }

  TrainValSplit split;
  const auto take = [](std::span<const std::int64_t> part, std::int64_t wanted, const char* what, int c,
                       std::vector<std::int64_t>& out) {
    if (wanted > std::int64_t(part.size()))
      throw argument_error("stratified_split: " + std::string(what) + " " + std::to_string(wanted) + " but class " +
                           std::to_string(c) + " has only " + std::to_string(part.size()) + " for it");
    const std::size_t n = wanted < 0 ? part.size() : std::size_t(wanted);
    out.insert(out.end(), part.begin(), part.begin() + std::ptrdiff_t(n));
  };
  for (int c = 0; c < num_classes; ++c) {
    auto& items = by_class[static_cast<std::size_t>(c)];
    shuffle(items, RandomStream(seed, Purpose::split, static_cast<std::uint32_t>(c)));
    // int(n * ratio) in the reference: the product in double, truncated.
    const auto n_train = static_cast<std::size_t>(double(items.size()) * options.train_fraction);
    const std::span<const std::int64_t> all(items);
    take(all.first(n_train), options.train_per_class, "train_per_class", c, split.train);
    take(all.subspan(n_train), options.val_per_class, "val_per_class", c, split.val);
  }
  return split;
}

}  // namespace farbound
