#pragma once
// The image data sets the examples train and evaluate on, by name, with the statistics a
// model's Normalize layer uses (computed on the training images in [0,1] pixel units).
#include <filesystem>
#include <string>

#include "farbound/data/cifar10.hpp"
#include "farbound/data/mnist.hpp"
#include "farbound/nn/zoo.hpp"

namespace examples {

struct ImageData {
  farbound::ImageDataset train, test;
  farbound::ModelSpec spec;  // in_channels, image_size 32, classes, mean, stddev
};

// name: fashion-mnist (Debian's dataset-fashion-mnist unless dir is given), mnist, cifar10.
// 28x28 images are zero-padded to 32x32 by the batch sources (ModelSpec::image_size = 32).
inline ImageData load_image_data(const std::string& name, const std::filesystem::path& dir) {
  using namespace farbound;
  ImageData d;
  if (name == "fashion-mnist") {
    const auto where = dir.empty() ? std::filesystem::path(default_fashion_mnist_dir) : dir;
    d.train = load_mnist_dir(where, DataPart::train);
    d.test = load_mnist_dir(where, DataPart::test);
    d.spec.mean = {0.2860};
    d.spec.stddev = {0.3530};
  } else if (name == "mnist") {
    if (dir.empty()) throw argument_error("--dataset mnist needs --data-dir (the directory of the IDX files)");
    d.train = load_mnist_dir(dir, DataPart::train);
    d.test = load_mnist_dir(dir, DataPart::test);
    d.spec.mean = {0.1307};
    d.spec.stddev = {0.3081};
  } else if (name == "cifar10") {
    if (dir.empty()) throw argument_error("--dataset cifar10 needs --data-dir (the directory of the binary batches)");
    d.train = load_cifar10_dir(dir, DataPart::train);
    d.test = load_cifar10_dir(dir, DataPart::test);
    d.spec.in_channels = 3;
    d.spec.mean = {0.4914, 0.4822, 0.4465};
    d.spec.stddev = {0.2470, 0.2435, 0.2616};
  } else {
    throw argument_error("unknown dataset '" + name + "' (fashion-mnist, mnist, cifar10)");
  }
  d.spec.num_classes = d.train.num_classes();
  return d;
}

// Batches of 32x32 images scaled to [0, 1]: 28x28 images are zero-padded.
inline farbound::ImageBatchOptions image_options(const farbound::ImageDataset& data) {
  farbound::ImageBatchOptions o;
  if (data.shape()[2] != 32 || data.shape()[3] != 32) o.resize = farbound::ResizeMode::zero_pad;
  return o;
}

}  // namespace examples
