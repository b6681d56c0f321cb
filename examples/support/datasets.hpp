#pragma once
// The image data sets the examples train and evaluate on, by name, with the statistics a
// model's Normalize layer uses (computed on the training images in [0,1] pixel units).
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "farbound/data/cifar10.hpp"
#include "farbound/data/image_batcher.hpp"
#include "farbound/data/mnist.hpp"
#include "farbound/data/split.hpp"
#include "farbound/train/config.hpp"
#include "farbound/nn/zoo.hpp"

namespace examples {

struct ImageData {
  farbound::ImageDataset train, test;
  farbound::ModelSpec spec;  // in_channels, image_size 32, classes, mean, stddev
};

// The flags that named a data set and its directory, for messages (--ood and --ood-dir
// name farbound-eval's out-of-distribution set).
struct DataFlags {
  std::string name = "--dataset", dir = "--data-dir";
};

// name: fashion-mnist (Debian's dataset-fashion-mnist unless dir is given), mnist, cifar10.
// 28x28 images are zero-padded to 32x32 by the batch sources (ModelSpec::image_size = 32).
inline ImageData load_image_data(const std::string& name, const std::filesystem::path& dir, const DataFlags& flags = {}) {
  using namespace farbound;
  ImageData d;
  if (name == "fashion-mnist") {
    const auto where = dir.empty() ? std::filesystem::path(default_fashion_mnist_dir) : dir;
    d.train = load_mnist_dir(where, DataPart::train);
    d.test = load_mnist_dir(where, DataPart::test);
    d.spec.mean = {0.2860};
    d.spec.stddev = {0.3530};
  } else if (name == "mnist") {
    if (dir.empty()) throw argument_error(flags.name + " mnist needs " + flags.dir + " (the directory of the IDX files)");
    d.train = load_mnist_dir(dir, DataPart::train);
    d.test = load_mnist_dir(dir, DataPart::test);
    d.spec.mean = {0.1307};
    d.spec.stddev = {0.3081};
  } else if (name == "cifar10") {
    if (dir.empty())
      throw argument_error(flags.name + " cifar10 needs " + flags.dir + " (the directory of the binary batches)");
    d.train = load_cifar10_dir(dir, DataPart::train);
    d.test = load_cifar10_dir(dir, DataPart::test);
    d.spec.in_channels = 3;
    d.spec.mean = {0.4914, 0.4822, 0.4465};
    d.spec.stddev = {0.2470, 0.2435, 0.2616};
  } else {
    throw argument_error(flags.name + ": unknown data set '" + name + "' (fashion-mnist, mnist, cifar10)");
  }
  d.spec.num_classes = d.train.num_classes();
  return d;
}

// farbound-train's stratified split of `train` (--val-fraction, --num-train, --num-val per
// class); a count the data cannot give is a message naming its flag.
inline farbound::TrainValSplit split_for_training(const farbound::ImageDataset& train, std::uint64_t seed,
                                                 double val_fraction, std::int64_t num_train, std::int64_t num_val) {
  const farbound::SplitOptions options{.train_fraction = 1 - val_fraction, .train_per_class = num_train, .val_per_class = num_val};
  for (int c = 0; c < train.num_classes(); ++c) {
    const auto have = std::count(train.labels().begin(), train.labels().end(), c);
    const auto in_train = std::int64_t(double(have) * options.train_fraction);
    if (num_train > in_train || num_val > have - in_train)
      throw farbound::argument_error(std::string(num_train > in_train ? "--num-train " + std::to_string(num_train)
                                                                      : "--num-val " + std::to_string(num_val)) +
                                     ": class " + std::to_string(c) + " has " + std::to_string(in_train) + " training / " +
                                     std::to_string(have - in_train) + " validation images (--val-fraction " +
                                     farbound::limit_text(val_fraction) + ")");
  }
  const auto split = farbound::stratified_split(train.labels(), train.num_classes(), seed, options);
  if (split.train.empty()) throw farbound::argument_error("--val-fraction: the training split is empty");
  return split;
}

// The names of a data set's classes: Fashion-MNIST's words, else the class numbers.
inline std::vector<std::string> class_names(const std::string& name, std::int64_t classes) {
  std::vector<std::string> out;
  for (std::int64_t c = 0; c < classes; ++c)
    if (c < 10 && name == "fashion-mnist") out.push_back(farbound::fashion_mnist_classes[std::size_t(c)]);
    else if (c < 10 && name == "cifar10") out.push_back(farbound::cifar10_classes[std::size_t(c)]);
    else out.push_back(std::to_string(c));
  return out;
}

// Batches of 32x32 images scaled to [0, 1]: 28x28 images are zero-padded.
inline farbound::ImageBatchOptions image_options(const farbound::ImageDataset& data) {
  farbound::ImageBatchOptions o;
  if (data.shape()[2] != 32 || data.shape()[3] != 32) o.resize = farbound::ResizeMode::zero_pad;
  return o;
}

}  // namespace examples
