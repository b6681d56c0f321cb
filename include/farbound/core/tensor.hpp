#pragma once
// Tensor<T>: owning, contiguous, row-major, 64-byte aligned storage of up to four axes.
// TensorView<T>: a non-owning window (a whole tensor or a run of leading-axis items).
//
// Copies are never hidden: Tensor is move-only, `clone()` copies on purpose. `resize`
// keeps the allocation whenever it is large enough, so a training step that resizes its
// workspaces to the same shapes every batch allocates nothing after the first one.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <type_traits>

#include <Eigen/Core>

#include "farbound/core/config.hpp"
#include "farbound/core/error.hpp"
#include "farbound/core/shape.hpp"

namespace farbound {

// Row-major dynamic matrix map used for every matrix product.
template <class T>
using MatrixMap = Eigen::Map<std::conditional_t<std::is_const_v<T>,
                                                const Eigen::Matrix<std::remove_const_t<T>, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>,
                                                Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>>;

// A non-owning window onto contiguous row-major elements (const T for read-only).
template <class T>
class TensorView {
 public:
  // The element type without const.
  using value_type = std::remove_const_t<T>;

  TensorView() = default;
  // A view of `shape` elements starting at `data`.
  TensorView(T* data, Shape shape) : data_(data), shape_(shape) {}
  // A view of mutable data converts to a view of const data.
  template <class U>
    requires std::is_same_v<const U, T> && (!std::is_same_v<U, T>)
  TensorView(const TensorView<U>& other) : data_(other.data()), shape_(other.shape()) {}

  // The first element.
  T* data() const { return data_; }
  // The extents.
  const Shape& shape() const { return shape_; }
  // Number of elements.
  std::int64_t numel() const { return shape_.numel(); }
  // The extent of `axis`.
  std::int64_t size(int axis) const { return shape_[axis]; }
  // Number of axes.
  int rank() const { return shape_.rank(); }
  // Whether the view has no elements.
  bool empty() const { return numel() == 0; }
  // The elements as a span.
  std::span<T> span() const { return {data_, static_cast<std::size_t>(numel())}; }
  // Element i in row-major order (unchecked).
  T& operator[](std::int64_t i) const { return data_[i]; }

  // Items [first, first + count) of the leading axis.
  TensorView slice(std::int64_t first, std::int64_t count) const {
    if (shape_.rank() == 0 || first < 0 || count < 0 || first + count > shape_[0])
      throw shape_error("TensorView::slice: items [" + std::to_string(first) + ", " + std::to_string(first + count) +
                        ") out of range for shape " + shape_.to_string());
    return {data_ + first * shape_.item_numel(), shape_.with_batch(count)};
  }
  // The same elements under another shape with the same element count.
  TensorView reshaped(Shape s) const {
    if (s.numel() != numel())
      throw shape_error("TensorView::reshaped: cannot view " + shape_.to_string() + " as " + s.to_string());
    return {data_, s};
  }
  // Leading axis as rows, everything else as columns.
  MatrixMap<T> matrix() const {
    const std::int64_t rows = shape_.rank() == 0 ? 1 : shape_[0];
    return MatrixMap<T>(data_, rows, rows == 0 ? 0 : numel() / rows);
  }

 private:
  T* data_ = nullptr;
  Shape shape_;
};

// An owning, contiguous, row-major, 64-byte aligned tensor of rank 0 to 4; move-only (clone() copies).
template <class T>
class Tensor {
  static_assert(std::is_floating_point_v<T> || std::is_integral_v<T>, "Tensor holds arithmetic types");

 public:
  // The element type.
  using value_type = T;

  Tensor() = default;
  // An uninitialised tensor of `shape`.
  explicit Tensor(Shape shape) { resize(shape); }
  // A tensor of `shape` with every element `fill_value`.
  Tensor(Shape shape, T fill_value) {
    resize(shape);
    fill(fill_value);
  }
  // Movable; copies are explicit (clone()).
  Tensor(Tensor&&) noexcept = default;
  // Move assignment; the old allocation is freed.
  Tensor& operator=(Tensor&&) noexcept = default;
  Tensor(const Tensor&) = delete;
  Tensor& operator=(const Tensor&) = delete;

  // A deliberate deep copy.
  Tensor clone() const {
    Tensor t(shape_);
    if (numel() > 0) std::memcpy(t.data(), data(), static_cast<std::size_t>(numel()) * sizeof(T));
    return t;
  }
  // A new tensor holding a copy of `v`'s elements.
  static Tensor from_view(TensorView<const T> v) {
    Tensor t(v.shape());
    if (v.numel() > 0) std::memcpy(t.data(), v.data(), static_cast<std::size_t>(v.numel()) * sizeof(T));
    return t;
  }

  // Sets the shape; reallocates only when the current allocation is too small.
  // Contents are unspecified afterwards.
  void resize(Shape shape) {
    const auto n = static_cast<std::size_t>(shape.numel());
    if (n > capacity_) {
      if (n > max_elements) throw argument_error("Tensor: " + shape.to_string() + " is too large to allocate");
      data_.reset(static_cast<T*>(::operator new[](n * sizeof(T), std::align_val_t{tensor_alignment})));
      capacity_ = n;
    }
    shape_ = shape;
  }
  // Sets every element to v.
  void fill(T v) { std::fill_n(data(), numel(), v); }
  // Sets every element to 0.
  void zero() { fill(T(0)); }

  // The first element.
  T* data() { return data_.get(); }
  // The first element, read-only.
  const T* data() const { return data_.get(); }
  // The extents.
  const Shape& shape() const { return shape_; }
  // Number of elements.
  std::int64_t numel() const { return shape_.numel(); }
  // The extent of `axis`.
  std::int64_t size(int axis) const { return shape_[axis]; }
  // Number of axes.
  int rank() const { return shape_.rank(); }
  // Whether the tensor has no elements.
  bool empty() const { return numel() == 0; }
  // Elements the allocation holds (at least numel()).
  std::size_t capacity() const { return capacity_; }

  // Element i in row-major order (unchecked).
  T& operator[](std::int64_t i) { return data_.get()[i]; }
  // Element i in row-major order (unchecked), read-only.
  const T& operator[](std::int64_t i) const { return data_.get()[i]; }
  // The elements as a span.
  std::span<T> span() { return {data(), static_cast<std::size_t>(numel())}; }
  // The elements as a read-only span.
  std::span<const T> span() const { return {data(), static_cast<std::size_t>(numel())}; }

  // A view of the whole tensor.
  TensorView<T> view() { return {data(), shape_}; }
  // A read-only view of the whole tensor.
  TensorView<const T> view() const { return {data(), shape_}; }
  // A tensor passes as a view of itself.
  operator TensorView<T>() { return view(); }
  // A tensor passes as a read-only view of itself.
  operator TensorView<const T>() const { return view(); }
  // Items [first, first + count) of the leading axis.
  TensorView<T> slice(std::int64_t first, std::int64_t count) { return view().slice(first, count); }
  // Items [first, first + count) of the leading axis, read-only.
  TensorView<const T> slice(std::int64_t first, std::int64_t count) const { return view().slice(first, count); }
  // Leading axis as rows, everything else as columns (an Eigen map).
  MatrixMap<T> matrix() { return view().matrix(); }
  // Leading axis as rows, everything else as columns, read-only.
  MatrixMap<const T> matrix() const { return view().matrix(); }

 private:
  // 2^40 elements: far beyond any real tensor, small enough that size * sizeof(T) never overflows.
  static constexpr std::size_t max_elements = std::size_t(1) << 40;

  struct AlignedDelete {
    void operator()(T* p) const { ::operator delete[](p, std::align_val_t{tensor_alignment}); }
  };
  std::unique_ptr<T, AlignedDelete> data_;
  std::size_t capacity_ = 0;
  Shape shape_;
};

}  // namespace farbound
