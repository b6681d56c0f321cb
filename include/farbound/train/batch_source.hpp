#pragma once
// BatchSource<T>: where labelled examples come from and how a list of item indices becomes
// a model-ready batch. It hides whether the items are uint8 images that need scaling,
// padding and augmentation (ImageBatcher) or feature vectors copied as they are, so the
// trainer, the evaluators and the attacks take one type.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "farbound/core/shape.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/data/dataset.hpp"
#include "farbound/data/image_batcher.hpp"

namespace farbound {

// Where the trainer takes its labelled items from: their count, classes, shape and a loader.
template <class T>
struct BatchSource {
  // Fills x and y with the items `indices` for `epoch`.
  using Loader = std::function<void(std::span<const std::int64_t> indices, std::uint32_t epoch, Tensor<T>& x,
                                    std::vector<int>& y)>;
  std::int64_t size = 0;       // number of items
  // Number of classes.
  int num_classes = 0;
  Shape input_shape;           // model input shape of a batch of one item, e.g. [1, 1, 32, 32]
  std::span<const int> labels; // label of every item
  Loader load;                 // x = model inputs of the items, y = their labels

  // [batch, ...]: the shape load() produces for `batch` items.
  Shape batch_shape(std::int64_t batch) const { return input_shape.with_batch(batch); }
};

// Items of `data` through an ImageBatcher (uint8 images: scale, resize, crop, flip).
// `data` must outlive the source.
template <class T, class S>
BatchSource<T> image_source(const Dataset<S>& data, ImageBatchOptions options) {
  auto batcher = std::make_shared<ImageBatcher<T>>(options);
  return {data.size(), data.num_classes(), batcher->output_shape(data.shape(), 1), data.labels(),
          [&data, batcher](std::span<const std::int64_t> idx, std::uint32_t epoch, Tensor<T>& x, std::vector<int>& y) {
            batcher->load(data, idx, epoch, x, y);
          }};
}

// Items of `data` as they are (feature vectors; images only scaled to [0, 1]).
template <class T, class S>
BatchSource<T> plain_source(const Dataset<S>& data) {
  return {data.size(), data.num_classes(), data.batch_shape(1), data.labels(),
          [&data](std::span<const std::int64_t> idx, std::uint32_t, Tensor<T>& x, std::vector<int>& y) {
            data.gather(idx, x, y);
          }};
}

}  // namespace farbound
