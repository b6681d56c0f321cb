#pragma once
// ImageBatcher<T>: turns a list of item indices of an image data set into a float batch,
// ready for a model: gather + scale to [0, 1], then optionally resize to a fixed size,
// random crop and random horizontal flip.
//
//   ImageBatcher<float> train_batches({.resize = ResizeMode::zero_pad, .crop_padding = 2,
//                                      .horizontal_flip = true, .seed = seed});
//   train_batches.load(train_set, batch_indices, epoch, x, y);   // x: [B, 1, 32, 32]
//
// The intermediate stages live in member tensors, so loading batches of one size
// allocates nothing after the first. Evaluation uses a batcher with the same resize and no
// crop or flip.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/core/shape.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/data/dataset.hpp"
#include "farbound/data/transforms.hpp"

namespace farbound {

// How images reach the batch size: unchanged, centred on zeros, or bilinearly resized.
enum class ResizeMode { none, zero_pad, bilinear };

// How ImageBatcher turns stored images into model inputs: resizing, random crops, flips, seed.
struct ImageBatchOptions {
  // How images are brought to height x width.
  ResizeMode resize = ResizeMode::none;
  // Size after resizing (ignored with ResizeMode::none).
  std::int64_t height = 32, width = 32;  // size after resizing (ignored with ResizeMode::none)
  std::int64_t crop_padding = 0;         // > 0: random crop after zero-padding by this many pixels
  bool horizontal_flip = false;          // mirror each image with probability 1/2
  std::uint64_t seed = 0;                // of the augmentation streams (Purpose::augment)
};

// Builds float batches of images from a uint8 image data set, with the augmentation of its options.
template <class T>
class ImageBatcher {
 public:
  // A batcher with `options`; argument_error for impossible settings.
  explicit ImageBatcher(ImageBatchOptions options = {}) : options_(options) {
    if (options_.resize != ResizeMode::none && (options_.height < 1 || options_.width < 1))
      throw argument_error("ImageBatcher: resize to " + std::to_string(options_.height) + "x" +
                           std::to_string(options_.width));
    if (options_.crop_padding < 0)
      throw argument_error("ImageBatcher: crop_padding " + std::to_string(options_.crop_padding) + " < 0");
  }

  // The settings it batches with.
  const ImageBatchOptions& options() const { return options_; }

  // The batch shape load() produces for `batch` items of a data set of shape `data`.
  Shape output_shape(const Shape& data, std::int64_t batch) const {
    detail::require_images(data, "ImageBatcher");
    if (options_.resize == ResizeMode::none) return data.with_batch(batch);
    return {batch, data[1], options_.height, options_.width};
  }

  // x = the items `indices` of `data`, scaled to [0, 1] and transformed (`epoch` selects
  // the random crops and flips); y = their labels.
  template <class S>
  void load(const Dataset<S>& data, std::span<const std::int64_t> indices, std::uint32_t epoch, Tensor<T>& x,
            std::vector<int>& y) {
    detail::require_images(data.shape(), "ImageBatcher");
    const bool resize = options_.resize != ResizeMode::none, crop = options_.crop_padding > 0;
    // Each stage writes to x when it is the last one, else to a workspace.
    data.gather(indices, resize || crop ? gathered_ : x, y);
    TensorView<const T> current = gathered_;
    if (resize) {
      Tensor<T>& target = crop ? resized_ : x;
      if (options_.resize == ResizeMode::zero_pad)
        zero_pad<T>(gathered_, target, options_.height, options_.width);
      else
        resize_bilinear<T>(gathered_, target, options_.height, options_.width);
      current = target;
    }
    const AugmentKey key{options_.seed, epoch, indices};
    if (crop) random_crop<T>(current, x, options_.crop_padding, key);
    if (options_.horizontal_flip) random_horizontal_flip<T>(x, key);
  }

 private:
  ImageBatchOptions options_;
  Tensor<T> gathered_, resized_;
};

}  // namespace farbound
