#include "farbound/data/image_batcher.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "data/bytes.hpp"

using namespace farbound;
using namespace farbound::test;

namespace {

ImageDataset pixels(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w) {
  Tensor<std::uint8_t> x({n, c, h, w});
  for (std::int64_t k = 0; k < x.numel(); ++k) x[k] = std::uint8_t(k * 7 % 256);
  std::vector<int> y(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) y[std::size_t(i)] = int(i % 3);
  return ImageDataset(std::move(x), std::move(y), 3);
}

template <class T>
bool same(const Tensor<T>& a, const Tensor<T>& b) {
  return a.shape() == b.shape() && std::equal(a.data(), a.data() + a.numel(), b.data());
}

}  // namespace

TEST_CASE("ImageBatcher without transforms is gather", "[batcher]") {
  const ImageDataset set = pixels(6, 1, 28, 28);
  const std::vector<std::int64_t> idx{5, 1, 2};
  ImageBatcher<float> batcher;
  Tensor<float> x, expect;
  std::vector<int> y, expect_y;
  batcher.load(set, idx, 0, x, y);
  set.gather<float>(idx, expect, expect_y);
  CHECK(same(x, expect));
  CHECK(y == expect_y);
  CHECK(batcher.output_shape(set.shape(), 3) == Shape{3, 1, 28, 28});
}

TEST_CASE("ImageBatcher chains resize, crop and flip as the single transforms do", "[batcher]") {
  const ImageDataset set = pixels(10, 3, 28, 28);
  const std::vector<std::int64_t> idx{9, 0, 4, 4};
  for (ResizeMode mode : {ResizeMode::zero_pad, ResizeMode::bilinear}) {
    ImageBatcher<double> batcher({.resize = mode, .crop_padding = 3, .horizontal_flip = true, .seed = 5});
    Tensor<double> x, gathered, resized, expect;
    std::vector<int> y;
    batcher.load(set, idx, 2, x, y);
    CHECK(y == std::vector<int>{0, 0, 1, 1});
    set.gather<double>(idx, gathered, y);
    if (mode == ResizeMode::zero_pad)
      zero_pad<double>(gathered, resized, 32, 32);
    else
      resize_bilinear<double>(gathered, resized, 32, 32);
    random_crop<double>(resized, expect, 3, {5, 2, idx});
    random_horizontal_flip<double>(expect, {5, 2, idx});
    CHECK(same(x, expect));
    CHECK(x.shape() == batcher.output_shape(set.shape(), 4));
    // The same sample in one batch gets the same draws.
    CHECK(std::equal(x.data() + 2 * 3072, x.data() + 3 * 3072, x.data() + 3 * 3072));

    // Steady state: the output and workspaces keep their storage.
    const double* storage = x.data();
    batcher.load(set, std::vector<std::int64_t>{1, 2, 3, 5}, 3, x, y);
    batcher.load(set, std::vector<std::int64_t>{1, 2}, 4, x, y);
    CHECK(x.data() == storage);
  }
  // Resize only, and crop only: each stage's last step writes the output.
  ImageBatcher<float> pad_only({.resize = ResizeMode::zero_pad});
  ImageBatcher<float> crop_only({.crop_padding = 2, .seed = 1});
  Tensor<float> x, g, expect;
  std::vector<int> y;
  pad_only.load(set, idx, 0, x, y);
  set.gather<float>(idx, g, y);
  zero_pad<float>(g, expect, 32, 32);
  CHECK(same(x, expect));
  crop_only.load(set, idx, 1, x, y);
  random_crop<float>(g, expect, 2, {1, 1, idx});
  CHECK(same(x, expect));
}

TEST_CASE("ImageBatcher rejects bad options and non-image sets", "[batcher]") {
  CHECK(error_text<argument_error>([] { ImageBatcher<float>({.crop_padding = -1}); }) ==
        "ImageBatcher: crop_padding -1 < 0");
  CHECK(error_text<argument_error>([] { ImageBatcher<float>({.resize = ResizeMode::bilinear, .height = 0}); }) ==
        "ImageBatcher: resize to 0x32");
  const Dataset<float> features(Tensor<float>({2, 3}, 0.0f), {0, 1}, 2);
  ImageBatcher<float> batcher;
  Tensor<float> x;
  std::vector<int> y;
  CHECK(error_text<shape_error>([&] { batcher.load(features, std::vector<std::int64_t>{0}, 0, x, y); }) ==
        "ImageBatcher: expected images (N, C, H, W), got [2, 3]");
}
