#pragma once
// Image transforms on float batches (N, C, H, W): zero-pad or bilinear resize to a
// fixed size, random crop, random horizontal flip. (Scaling uint8 pixels to [0, 1]
// happens when a batch is gathered: Dataset::gather, convert_to_float.)
//
// Random transforms draw from RandomStream(seed, Purpose::augment, epoch, sample), where
// `sample` is the item's index in its data set, not its place in the batch: an image is
// cropped and flipped the same way in a given epoch whatever the batch size, order or
// thread count. Within that stream, element 0 and 1 are the crop offsets and element 2
// the flip, so the two transforms never share a number.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/random.hpp"
#include "farbound/core/shape.hpp"
#include "farbound/core/tensor.hpp"

namespace farbound {

// Addresses the augmentation stream of each item of a batch.
struct AugmentKey {
  // Seed of the augmentation.
  std::uint64_t seed = 0;
  // The epoch being drawn.
  std::uint32_t epoch = 0;
  std::span<const std::int64_t> samples;  // data-set index of every batch item

  // The random stream of batch item `item`'s augmentation: (seed, epoch, its data-set index).
  RandomStream stream(std::int64_t item) const {
    return RandomStream(seed, Purpose::augment, epoch, static_cast<std::uint32_t>(samples[static_cast<std::size_t>(item)]));
  }
};

namespace detail {

// Element indices within an item's augmentation stream.
inline constexpr std::uint64_t augment_crop_y = 0, augment_crop_x = 1, augment_flip = 2;

inline void require_images(const Shape& s, const char* what) {
  if (s.rank() != 4) throw shape_error(std::string(what) + ": expected images (N, C, H, W), got " + s.to_string());
}

inline void require_key(const AugmentKey& key, std::int64_t batch, const char* what) {
  if (static_cast<std::int64_t>(key.samples.size()) != batch)
    throw shape_error(std::string(what) + ": " + std::to_string(key.samples.size()) + " sample indices for a batch of " +
                      std::to_string(batch));
  for (std::int64_t s : key.samples)
    if (s < 0 || s > std::int64_t(UINT32_MAX))
      throw argument_error(std::string(what) + ": sample index " + std::to_string(s) + " outside [0, 2^32)");
}

// The transforms write a new tensor from their input: `out` must not hold the input.
template <class T>
void require_separate(TensorView<const T> in, const Tensor<T>& out, const char* what) {
  const T* begin = out.data();
  if (begin != nullptr && in.data() != nullptr && !std::less<const T*>()(in.data(), begin) &&
      std::less<const T*>()(in.data(), begin + out.capacity()))
    throw argument_error(std::string(what) + ": the output tensor holds the input; pass another tensor");
}

// One output coordinate of a half-pixel-centred bilinear resize along one axis: the two
// source positions and the weight of the second. Source coordinates outside the image
// are clamped to its border.
struct BilinearTap {
  std::int64_t lo, hi;
  double w_hi;
};
inline BilinearTap bilinear_tap(std::int64_t out_pos, std::int64_t in_size, std::int64_t out_size) {
  double src = (double(out_pos) + 0.5) * double(in_size) / double(out_size) - 0.5;
  src = std::clamp(src, 0.0, double(in_size - 1));
  const auto lo = static_cast<std::int64_t>(src);
  return {lo, std::min(lo + 1, in_size - 1), src - double(lo)};
}

}  // namespace detail

// Centres each image on a zero background of height x width (at least the input size); an
// odd margin puts the extra row or column at the bottom or right. 28x28 -> 32x32 adds two
// zero rows and columns on every side.
template <class T>
void zero_pad(TensorView<const T> in, Tensor<T>& out, std::int64_t height, std::int64_t width) {
  detail::require_images(in.shape(), "zero_pad");
  detail::require_separate(in, out, "zero_pad");
  const std::int64_t n = in.size(0), c = in.size(1), h = in.size(2), w = in.size(3);
  if (height < h || width < w)
    throw shape_error("zero_pad: cannot pad " + in.shape().to_string() + " to " + std::to_string(height) + "x" +
                      std::to_string(width));
  out.resize({n, c, height, width});
  const std::int64_t top = (height - h) / 2, left = (width - w) / 2;
  parallel_for(n * c, [&](std::int64_t plane) {
    const T* src = in.data() + plane * h * w;
    T* dst = out.data() + plane * height * width;
    std::fill_n(dst, height * width, T(0));
    for (std::int64_t y = 0; y < h; ++y) std::copy_n(src + y * w, w, dst + (top + y) * width + left);
  });
}

// Bilinear resize to height x width with half-pixel centres and clamped borders (PyTorch's
// interpolate(mode="bilinear", align_corners=False)). For enlarging, as the reference's
// Resize(32) of 28x28 MNIST, this is also what PIL computes, except that PIL rounds the
// result to uint8 and this keeps it in T. Shrinking reads only the two nearest source pixels
// per axis (no anti-aliasing).
template <class T>
void resize_bilinear(TensorView<const T> in, Tensor<T>& out, std::int64_t height, std::int64_t width) {
  detail::require_images(in.shape(), "resize_bilinear");
  detail::require_separate(in, out, "resize_bilinear");
  const std::int64_t n = in.size(0), c = in.size(1), h = in.size(2), w = in.size(3);
  if (height < 1 || width < 1 || h < 1 || w < 1)
    throw shape_error("resize_bilinear: cannot resize " + in.shape().to_string() + " to " + std::to_string(height) + "x" +
                      std::to_string(width));
  out.resize({n, c, height, width});
  parallel_for(n * c, [&](std::int64_t plane) {
    const T* src = in.data() + plane * h * w;
    T* dst = out.data() + plane * height * width;
    for (std::int64_t y = 0; y < height; ++y) {
      const auto ty = detail::bilinear_tap(y, h, height);
      const T wy = T(ty.w_hi);
      for (std::int64_t x = 0; x < width; ++x) {
        const auto tx = detail::bilinear_tap(x, w, width);
        const T wx = T(tx.w_hi);
        const T top = src[ty.lo * w + tx.lo] + wx * (src[ty.lo * w + tx.hi] - src[ty.lo * w + tx.lo]);
        const T bottom = src[ty.hi * w + tx.lo] + wx * (src[ty.hi * w + tx.hi] - src[ty.hi * w + tx.lo]);
        dst[y * width + x] = top + wy * (bottom - top);
      }
    }
  });
}

// Random crop with zero padding (torchvision's RandomCrop(size, padding)): each image is
// padded by `padding` zero pixels on every side and an H x W window is cut at offsets
// (dy, dx) drawn uniformly from [0, 2 * padding]^2. Output shape = input shape.
template <class T>
void random_crop(TensorView<const T> in, Tensor<T>& out, std::int64_t padding, const AugmentKey& key) {
  detail::require_images(in.shape(), "random_crop");
  detail::require_separate(in, out, "random_crop");
  if (padding < 0 || padding > 1 << 20) throw argument_error("random_crop: padding " + std::to_string(padding) + " outside [0, 2^20]");
  const std::int64_t n = in.size(0), c = in.size(1), h = in.size(2), w = in.size(3);
  detail::require_key(key, n, "random_crop");
  out.resize(in.shape());
  const auto choices = static_cast<std::uint32_t>(2 * padding + 1);
  parallel_for(n, [&](std::int64_t i) {
    const RandomStream stream = key.stream(i);
    // Output pixel (y, x) shows padded pixel (y + dy, x + dx) = input pixel (y + dy - p, x + dx - p).
    const std::int64_t sy = std::int64_t(stream.below(detail::augment_crop_y, choices)) - padding;
    const std::int64_t sx = std::int64_t(stream.below(detail::augment_crop_x, choices)) - padding;
    for (std::int64_t ch = 0; ch < c; ++ch) {
      const T* src = in.data() + (i * c + ch) * h * w;
      T* dst = out.data() + (i * c + ch) * h * w;
      for (std::int64_t y = 0; y < h; ++y) {
        const std::int64_t yy = y + sy;
        for (std::int64_t x = 0; x < w; ++x) {
          const std::int64_t xx = x + sx;
          dst[y * w + x] = (yy >= 0 && yy < h && xx >= 0 && xx < w) ? src[yy * w + xx] : T(0);
        }
      }
    }
  });
}

// Mirrors item `item` left to right, in place.
template <class T>
void flip_horizontally(TensorView<T> images, std::int64_t item) {
  const std::int64_t c = images.size(1), h = images.size(2), w = images.size(3);
  for (std::int64_t row = 0; row < c * h; ++row) {
    T* r = images.data() + (item * c * h + row) * w;
    std::reverse(r, r + w);
  }
}

// Mirrors each image left to right with probability 1/2 (torchvision's
// RandomHorizontalFlip), in place.
template <class T>
void random_horizontal_flip(TensorView<T> images, const AugmentKey& key) {
  detail::require_images(images.shape(), "random_horizontal_flip");
  detail::require_key(key, images.size(0), "random_horizontal_flip");
  parallel_for(images.size(0), [&](std::int64_t i) {
    if (key.stream(i).below(detail::augment_flip, 2) == 1) flip_horizontally(images, i);
  });
}

}  // namespace farbound
