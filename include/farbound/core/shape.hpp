#pragma once
// Shape of a tensor: up to four extents, row-major (N, C, H, W).
#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "farbound/core/error.hpp"

namespace farbound {

// The extents of a tensor of rank 0 to 4, leading axis first.
class Shape {
 public:
  // The largest rank.
  static constexpr int max_rank = 4;

  Shape() = default;
  // The extents, leading axis first; at most 4, none negative.
  Shape(std::initializer_list<std::int64_t> extents) {
    if (extents.size() > max_rank)
      throw shape_error("Shape: rank " + std::to_string(extents.size()) + " exceeds the maximum of 4");
    for (std::int64_t e : extents) {
      if (e < 0) throw shape_error("Shape: negative extent " + std::to_string(e));
      dims_[static_cast<std::size_t>(rank_++)] = e;
    }
  }

  // Number of axes, 0 to 4.
  int rank() const { return rank_; }
  // The extent of `axis`; shape_error when out of range.
  std::int64_t operator[](int axis) const {
    if (axis < 0 || axis >= rank_)
      throw shape_error("Shape: axis " + std::to_string(axis) + " out of range for " + to_string());
    return dims_[static_cast<std::size_t>(axis)];
  }
  // Number of elements; 1 for rank 0 (a scalar).
  std::int64_t numel() const {
    std::int64_t n = 1;
    for (int i = 0; i < rank_; ++i) n *= dims_[static_cast<std::size_t>(i)];
    return n;
  }
  // Elements per item of the leading axis (C*H*W for an NCHW tensor).
  std::int64_t item_numel() const { return rank_ == 0 ? 1 : (dims_[0] == 0 ? 0 : numel() / dims_[0]); }
  // The same shape with the leading extent replaced.
  Shape with_batch(std::int64_t n) const {
    if (rank_ == 0) throw shape_error("Shape: a scalar has no batch axis");
    Shape s = *this;
    s.dims_[0] = n;
    return s;
  }

  // "[2, 3]", for messages.
  std::string to_string() const {
    std::string s = "[";
    for (int i = 0; i < rank_; ++i) s += (i ? ", " : "") + std::to_string(dims_[static_cast<std::size_t>(i)]);
    return s + "]";
  }

  // Same rank and extents.
  friend bool operator==(const Shape& a, const Shape& b) {
    if (a.rank_ != b.rank_) return false;
    for (int i = 0; i < a.rank_; ++i)
      if (a.dims_[static_cast<std::size_t>(i)] != b.dims_[static_cast<std::size_t>(i)]) return false;
    return true;
  }

 private:
  std::array<std::int64_t, max_rank> dims_{};
  int rank_ = 0;
};

// Throws a shape_error naming both shapes unless they are equal.
inline void require_same_shape(const Shape& a, const Shape& b, const char* what) {
  if (!(a == b)) throw shape_error(std::string(what) + ": shapes " + a.to_string() + " and " + b.to_string() + " differ");
}

}  // namespace farbound
