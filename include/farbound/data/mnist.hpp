#pragma once
// MNIST and Fashion-MNIST from a directory of IDX files with the original names
// (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
// t10k-labels-idx1-ubyte), each gzip-compressed (".gz") or plain.
//
// Fashion-MNIST is found without a path where Debian's package dataset-fashion-mnist puts
// it: /usr/share/datasets/fashion-mnist (tests/run.sh and examples/demo.sh install it).
#include <array>
#include <filesystem>
#include <string>

#include "farbound/core/error.hpp"
#include "farbound/data/dataset.hpp"
#include "farbound/data/idx.hpp"

namespace farbound {

// Where Debian's dataset-fashion-mnist package puts the files.
inline const std::filesystem::path default_fashion_mnist_dir = "/usr/share/datasets/fashion-mnist";

// The class names, by label.
inline constexpr std::array<const char*, 10> fashion_mnist_classes = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

namespace detail {

// dir/stem.gz when it exists, else dir/stem; io_error naming both when neither does.
inline std::filesystem::path find_idx_file(const std::filesystem::path& dir, const std::string& stem) {
  std::error_code ec;
  for (const auto& candidate : {dir / (stem + ".gz"), dir / stem})
    if (std::filesystem::is_regular_file(candidate, ec)) return candidate;
  throw io_error((dir / stem).string() + "(.gz): no such file");
}

}  // namespace detail

// The training set (60000 images) or the test set (10000) of an MNIST-format directory:
// uint8 images (N, 1, 28, 28) and labels 0..9.
inline ImageDataset load_mnist_dir(const std::filesystem::path& dir, DataPart part) {
  const std::string prefix = part == DataPart::train ? "train" : "t10k";
  const auto images = detail::find_idx_file(dir, prefix + "-images-idx3-ubyte");
  const auto labels = detail::find_idx_file(dir, prefix + "-labels-idx1-ubyte");
  return load_idx(images, labels, 10);
}

// Fashion-MNIST (Xiao, Rasul, Vollgraf 2017), by default from Debian's location.
inline ImageDataset load_fashion_mnist(DataPart part, const std::filesystem::path& dir = default_fashion_mnist_dir) {
  return load_mnist_dir(dir, part);
}

}  // namespace farbound
