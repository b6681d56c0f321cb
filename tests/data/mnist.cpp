#include "farbound/data/mnist.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <vector>

#include "data/bytes.hpp"

using namespace farbound;
using namespace farbound::test;

namespace {

void write(const std::filesystem::path& path, const Bytes& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

double mean_pixel(const ImageDataset& set) {
  double sum = 0;
  for (std::int64_t k = 0; k < set.inputs().numel(); ++k) sum += set.inputs()[k];
  return sum / double(set.inputs().numel()) / 255.0;
}

}  // namespace

TEST_CASE("An MNIST-format directory loads with gzip and plain files mixed", "[mnist]") {
  const auto dir = std::filesystem::temp_directory_path() / "farbound_test_mnist";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  write(dir / "train-images-idx3-ubyte.gz", gzip(idx_images(5, 28, 28)));
  write(dir / "train-labels-idx1-ubyte", idx_labels({1, 2, 3, 4, 5}));
  const ImageDataset train = load_mnist_dir(dir, DataPart::train);
  CHECK(train.shape() == Shape{5, 1, 28, 28});
  CHECK(train.label(4) == 5);
  CHECK(error_text<io_error>([&] { load_mnist_dir(dir, DataPart::test); }) ==
        (dir / "t10k-images-idx3-ubyte").string() + "(.gz): no such file");
}

TEST_CASE("Fashion-MNIST from Debian's dataset-fashion-mnist", "[mnist][fashion]") {
  if (!std::filesystem::exists(default_fashion_mnist_dir / "train-images-idx3-ubyte.gz")) {
    WARN("skipped: " << default_fashion_mnist_dir << " missing (apt-get install dataset-fashion-mnist)");
    return;
  }
  const ImageDataset train = load_fashion_mnist(DataPart::train);
  CHECK(train.shape() == Shape{60000, 1, 28, 28});
  CHECK(train.num_classes() == 10);
  CHECK(train.class_counts() == std::vector<std::int64_t>(10, 6000));
  CHECK(std::vector<int>(train.labels().begin(), train.labels().begin() + 10) ==
        std::vector<int>{9, 0, 0, 3, 0, 2, 7, 2, 5, 5});
  CHECK(mean_pixel(train) == Approx(0.2860).margin(0.0005));

  const ImageDataset test = load_fashion_mnist(DataPart::test);
  CHECK(test.shape() == Shape{10000, 1, 28, 28});
  CHECK(test.class_counts() == std::vector<std::int64_t>(10, 1000));
  CHECK(std::vector<int>(test.labels().begin(), test.labels().begin() + 10) ==
        std::vector<int>{9, 2, 1, 1, 6, 1, 4, 6, 5, 7});
  CHECK(mean_pixel(test) == Approx(0.2868).margin(0.0005));
  CHECK(std::string(fashion_mnist_classes[9]) == "Ankle boot");
}
