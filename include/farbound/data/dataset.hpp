#pragma once
// Dataset<S>: a labelled data set kept in its storage type S, converted to the training
// float type only batch by batch.
//
// Images are stored as uint8 (N, C, H, W), as they come from the files: the 60000
// Fashion-MNIST training images take 47 MB instead of 188 MB as float. gather() turns the
// items named by an index list (a shuffled batch) into a caller's Tensor<T>, scaling
// uint8 pixels to [0, 1] (v / 255, as torchvision's ToTensor), so every perturbation size
// elsewhere in the library is in [0, 1] pixel units. Feature sets (toy sets, CSV files)
// are stored as float or double and copied unchanged. Since Tensor::resize and
// std::vector::resize keep large-enough allocations, gathering batches of one size
// allocates nothing after the first.
#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/shape.hpp"
#include "farbound/core/tensor.hpp"

namespace farbound {

// Which half of a data set with a fixed train / test division to load.
enum class DataPart { train, test };

namespace detail {

// v / 255 for every uint8 value v, correctly rounded in T.
template <class T>
const std::array<T, 256>& unit_scale_table() {
  static const std::array<T, 256> table = [] {
    std::array<T, 256> t{};
    for (int v = 0; v < 256; ++v) t[static_cast<std::size_t>(v)] = T(v) / T(255);
    return t;
  }();
  return table;
}

}  // namespace detail

// Converts stored values to T: uint8 pixels to [0, 1], floating-point values unchanged.
template <class S, class T>
void convert_to_float(std::span<const S> in, std::span<T> out) {
  static_assert(std::is_floating_point_v<T>, "convert_to_float: T is a floating-point type");
  if (in.size() != out.size())
    throw shape_error("convert_to_float: " + std::to_string(in.size()) + " values into " + std::to_string(out.size()));
  if constexpr (std::is_same_v<S, std::uint8_t>) {
    const auto& table = detail::unit_scale_table<T>();
    for (std::size_t i = 0; i < in.size(); ++i) out[i] = table[in[i]];
  } else {
    static_assert(std::is_floating_point_v<S>, "Dataset stores uint8 images or floating-point features");
    for (std::size_t i = 0; i < in.size(); ++i) out[i] = T(in[i]);
  }
}

// Inputs (leading axis = items) of storage type S with one integer label per item.
template <class S>
class Dataset {
  static_assert(std::is_same_v<S, std::uint8_t> || std::is_floating_point_v<S>,
                "Dataset stores uint8 images or floating-point features");

 public:
  Dataset() = default;
  // inputs: [N, ...] (rank 2 to 4); labels: N class indices in [0, num_classes).
  Dataset(Tensor<S> inputs, std::vector<int> labels, int num_classes)
      : inputs_(std::move(inputs)), labels_(std::move(labels)), num_classes_(num_classes) {
    if (inputs_.rank() < 2)
      throw shape_error("Dataset: inputs need a leading item axis and at least one more, got " +
                        inputs_.shape().to_string());
    if (std::int64_t(labels_.size()) != inputs_.size(0))
      throw shape_error("Dataset: " + std::to_string(labels_.size()) + " labels for inputs of shape " +
                        inputs_.shape().to_string());
    if (num_classes_ < 1) throw argument_error("Dataset: num_classes must be positive, got " + std::to_string(num_classes));
    for (std::size_t i = 0; i < labels_.size(); ++i)
      if (labels_[i] < 0 || labels_[i] >= num_classes_)
        throw argument_error("Dataset: label " + std::to_string(labels_[i]) + " of item " + std::to_string(i) +
                             " outside [0, " + std::to_string(num_classes_) + ")");
  }
  // Movable; copies are explicit (clone()).
  Dataset(Dataset&&) noexcept = default;
  // Move assignment.
  Dataset& operator=(Dataset&&) noexcept = default;

  // Number of items.
  std::int64_t size() const { return inputs_.rank() == 0 ? 0 : inputs_.size(0); }
  // Whether the set has no items.
  bool empty() const { return size() == 0; }
  // [N, ...]: the whole set's shape.
  const Shape& shape() const { return inputs_.shape(); }
  // [batch, ...]: the shape gather() produces for `batch` items.
  Shape batch_shape(std::int64_t batch) const { return inputs_.shape().with_batch(batch); }
  // Number of classes; labels lie in [0, num_classes()).
  int num_classes() const { return num_classes_; }
  // All inputs, leading axis = items.
  TensorView<const S> inputs() const { return inputs_.view(); }
  // The label of every item.
  std::span<const int> labels() const { return labels_; }
  // The label of item i; checked.
  int label(std::int64_t i) const { return labels_[static_cast<std::size_t>(check_index(i))]; }

  // Items per class.
  std::vector<std::int64_t> class_counts() const {
    std::vector<std::int64_t> counts(static_cast<std::size_t>(num_classes_), 0);
    for (int y : labels_) ++counts[static_cast<std::size_t>(y)];
    return counts;
  }

  // x = inputs[indices] converted to T, shape batch_shape(indices.size()); y = their labels.
  template <class T>
  void gather(std::span<const std::int64_t> indices, Tensor<T>& x, std::vector<int>& y) const {
    for (std::int64_t i : indices) check_index(i);
    const auto batch = static_cast<std::int64_t>(indices.size());
    x.resize(batch_shape(batch));
    y.resize(indices.size());
    const std::int64_t item = inputs_.shape().item_numel();
    parallel_for(batch, [&](std::int64_t b) {
      const std::int64_t src = indices[static_cast<std::size_t>(b)];
      convert_to_float(std::span<const S>(inputs_.data() + src * item, static_cast<std::size_t>(item)),
                       std::span<T>(x.data() + b * item, static_cast<std::size_t>(item)));
      y[static_cast<std::size_t>(b)] = labels_[static_cast<std::size_t>(src)];
    });
  }

  // A new data set of the items at `indices`, in that order (a deliberate copy).
  Dataset subset(std::span<const std::int64_t> indices) const {
    for (std::int64_t i : indices) check_index(i);
    const auto n = static_cast<std::int64_t>(indices.size());
    Tensor<S> inputs(batch_shape(n));
    std::vector<int> labels(indices.size());
    const std::int64_t item = inputs_.shape().item_numel();
    for (std::int64_t b = 0; b < n; ++b) {
      const std::int64_t src = indices[static_cast<std::size_t>(b)];
      std::copy_n(inputs_.data() + src * item, item, inputs.data() + b * item);
      labels[static_cast<std::size_t>(b)] = labels_[static_cast<std::size_t>(src)];
    }
    return Dataset(std::move(inputs), std::move(labels), num_classes_);
  }

  // A deliberate deep copy.
  Dataset clone() const { return Dataset(inputs_.clone(), labels_, num_classes_); }

 private:
  std::int64_t check_index(std::int64_t i) const {
    if (i < 0 || i >= size())
      throw argument_error("Dataset: index " + std::to_string(i) + " out of range for " + std::to_string(size()) +
                           " items");
    return i;
  }

  Tensor<S> inputs_;
  std::vector<int> labels_;
  int num_classes_ = 0;
};

// Images as read from IDX and CIFAR-10 files: uint8 (N, C, H, W).
using ImageDataset = Dataset<std::uint8_t>;

}  // namespace farbound
