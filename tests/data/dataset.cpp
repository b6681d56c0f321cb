#include "farbound/data/dataset.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "data/bytes.hpp"

using namespace farbound;
using namespace farbound::test;

namespace {

// 4 images of 2 x 1 x 2 whose pixel k is 60 * item + k.
ImageDataset small_images() {
  Tensor<std::uint8_t> x({4, 2, 1, 2});
  for (std::int64_t k = 0; k < x.numel(); ++k) x[k] = std::uint8_t(60 * (k / 4) + k % 4);
  return ImageDataset(std::move(x), {3, 1, 0, 1}, 4);
}

}  // namespace

TEMPLATE_TEST_CASE("gather scales uint8 pixels to [0, 1] as v / 255", "[dataset]", float, double) {
  const ImageDataset set = small_images();
  Tensor<TestType> x;
  std::vector<int> y;
  const std::vector<std::int64_t> batch{2, 0, 2};
  set.gather<TestType>(batch, x, y);
  CHECK(x.shape() == Shape{3, 2, 1, 2});
  CHECK(y == std::vector<int>{0, 3, 0});
  for (std::int64_t b = 0; b < 3; ++b)
    for (std::int64_t k = 0; k < 4; ++k)
      CHECK(x[b * 4 + k] == TestType(60 * batch[std::size_t(b)] + k) / TestType(255));
  // The extremes are exact.
  Tensor<std::uint8_t> extremes({1, 1, 1, 2});
  extremes[0] = 0;
  extremes[1] = 255;
  ImageDataset(std::move(extremes), {0}, 1).gather<TestType>(std::vector<std::int64_t>{0}, x, y);
  CHECK(x[0] == TestType(0));
  CHECK(x[1] == TestType(1));
}

TEST_CASE("gather reuses the caller's storage for batches of one size", "[dataset]") {
  const ImageDataset set = small_images();
  Tensor<float> x;
  std::vector<int> y;
  set.gather<float>(std::vector<std::int64_t>{0, 1}, x, y);
  const float* storage = x.data();
  const int* label_storage = y.data();
  set.gather<float>(std::vector<std::int64_t>{3, 2}, x, y);
  set.gather<float>(std::vector<std::int64_t>{1}, x, y);
  CHECK(x.data() == storage);
  CHECK(y.data() == label_storage);
  CHECK(x.shape() == Shape{1, 2, 1, 2});
  set.gather<float>(std::vector<std::int64_t>{}, x, y);
  CHECK(x.shape() == Shape{0, 2, 1, 2});
}

TEST_CASE("Feature sets gather unchanged; subsets copy; counts per class", "[dataset]") {
  Tensor<double> f({3, 2});
  for (int k = 0; k < 6; ++k) f[k] = 0.5 * k - 1;
  const Dataset<double> set(std::move(f), {1, 1, 0}, 2);
  Tensor<float> x;
  std::vector<int> y;
  set.gather<float>(std::vector<std::int64_t>{1}, x, y);
  CHECK(x.shape() == Shape{1, 2});
  CHECK(x[0] == 0.0f);
  CHECK(x[1] == 0.5f);
  CHECK(set.class_counts() == std::vector<std::int64_t>{1, 2});

  const ImageDataset images = small_images();
  const ImageDataset sub = images.subset(std::vector<std::int64_t>{3, 3, 0});
  CHECK(sub.shape() == Shape{3, 2, 1, 2});
  CHECK(std::vector<int>(sub.labels().begin(), sub.labels().end()) == std::vector<int>{1, 1, 3});
  CHECK(sub.inputs()[0] == 180);
  CHECK(sub.inputs()[8] == 0);
  CHECK(sub.num_classes() == 4);
  CHECK(images.clone().inputs()[5] == images.inputs()[5]);
}

TEST_CASE("Dataset rejects inconsistent parts and bad indices", "[dataset]") {
  CHECK(error_text<shape_error>([] { ImageDataset(Tensor<std::uint8_t>({2, 3}), {0}, 2); }) ==
        "Dataset: 1 labels for inputs of shape [2, 3]");
  CHECK(error_text<argument_error>([] { ImageDataset(Tensor<std::uint8_t>({2, 3}), {0, 2}, 2); }) ==
        "Dataset: label 2 of item 1 outside [0, 2)");
  CHECK(error_text<argument_error>([] { ImageDataset(Tensor<std::uint8_t>({1, 3}), {-1}, 2); }) ==
        "Dataset: label -1 of item 0 outside [0, 2)");
  CHECK(error_text<shape_error>([] { ImageDataset(Tensor<std::uint8_t>({3}), {0, 0, 0}, 2); }) ==
        "Dataset: inputs need a leading item axis and at least one more, got [3]");
  const ImageDataset set = small_images();
  Tensor<float> x;
  std::vector<int> y;
  CHECK(error_text<argument_error>([&] { set.gather<float>(std::vector<std::int64_t>{0, 4}, x, y); }) ==
        "Dataset: index 4 out of range for 4 items");
  CHECK(error_text<argument_error>([&] { set.subset(std::vector<std::int64_t>{-1}); }) ==
        "Dataset: index -1 out of range for 4 items");
}
