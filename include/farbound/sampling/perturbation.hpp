#pragma once
// Perturbations: how the samplers turn a point x into a random point near it (or, for
// DrawFromPool, into a point of another data set).
//
// A perturbation is a small value type with
//   template <class T> void apply(const RandomStream& s, std::span<const T> x, std::span<T> out) const;
//   void check_item_numel(std::int64_t n) const;   // throws unless it can make points of n values
//   std::string describe() const;
// apply draws every random number from the one stream it is given, by position, so a point
// depends only on the stream's key (seed, purpose, epoch, anchor, neighbour) and never on
// which thread or batch computes it. out may be x itself (each value is read before it is
// written). Sizes are in the units of the data ([0, 1] pixels for images) and noise is
// never clipped to the data range: a perturbation is a point of input space, not an image.
#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <span>
#include <string>

#include "farbound/core/error.hpp"
#include "farbound/core/random.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/sampling/detail/normal_numbers.hpp"
#include "farbound/sampling/gaussian_row.hpp"

namespace farbound {

template <class P, class T>
concept Perturbation = requires(const P& p, const RandomStream& s, std::span<const T> x, std::span<T> out, std::int64_t n) {
  p.apply(s, x, out);
  p.check_item_numel(n);
  { p.describe() } -> std::convertible_to<std::string>;
};

namespace detail {

inline double require_size(double value, const char* what, const char* name) {
  if (!std::isfinite(value) || value < 0)
    throw argument_error(std::string(what) + ": " + name + " must be finite and >= 0, got " + std::to_string(value));
  return value;
}

// Rows of `item` values worth waking threads for: about 4096 values of noise (tens of
// microseconds) in all; fewer run on the calling thread.
inline std::int64_t min_parallel_rows(std::int64_t item) {
  return std::max<std::int64_t>(2, (std::int64_t(1) << 12) / std::max<std::int64_t>(item, 1));
}

inline void require_normal_count(std::int64_t n, const char* what) {
  if (n > max_normals)
    throw argument_error(std::string(what) + ": a point of " + std::to_string(n) + " values needs more than the " +
                         std::to_string(max_normals) + " normal numbers of one random stream");
}

inline void require_same_length(std::size_t x, std::size_t out, const char* what) {
  if (x != out)
    throw shape_error(std::string(what) + ": a point of " + std::to_string(x) + " values into " + std::to_string(out));
}

}  // namespace detail

// x + N(0, sigma^2 I): the paper's unlabelled cloud (sigma_u) and neighbours (sigma_n).
// Element i of the noise is standard normal number i of the stream as box_muller4 makes it
// (vectorised: detail/normal_numbers.hpp), the numbers the CUDA neighbour kernel draws.
class GaussianNoise {
 public:
  // Gaussian noise of standard deviation sigma on every coordinate.
  explicit GaussianNoise(double sigma) : sigma_(detail::require_size(sigma, "GaussianNoise", "sigma")) {}
  // The standard deviation.
  double sigma() const { return sigma_; }

  // out = x + N(0, sigma^2 I), drawn from stream s.
  template <class T>
  void apply(const RandomStream& s, std::span<const T> x, std::span<T> out) const {
    detail::require_same_length(x.size(), out.size(), "GaussianNoise");
    detail::for_each_normal_chunk(s, out.size(), [&](std::size_t first, const double* z, std::size_t count) {
      for (std::size_t j = 0; j < count; ++j) out[first + j] = add_scaled_normal(x[first + j], z[j], sigma_);
    });
  }
  // argument_error when a point needs more normal numbers than one random stream holds.
  void check_item_numel(std::int64_t n) const { detail::require_normal_count(n, "GaussianNoise"); }
  // Its name and sigma, for messages.
  std::string describe() const { return "GaussianNoise(sigma " + std::to_string(sigma_) + ")"; }

 private:
  double sigma_;
};

// x + a point uniform in the L2 ball of the given radius: a direction uniform on the sphere
// (n normal numbers, normalised) times radius * U^(1/n), U uniform in (0, 1), taken from
// the stream's first word after the n normals.
class BallNoise {
 public:
  // Noise uniform in the L2 ball of `radius`.
  explicit BallNoise(double radius) : radius_(detail::require_size(radius, "BallNoise", "radius")) {}
  // The ball's radius.
  double radius() const { return radius_; }

  template <class T>
  void apply(const RandomStream& s, std::span<const T> x, std::span<T> out) const {
    detail::require_same_length(x.size(), out.size(), "BallNoise");
    const std::size_t n = out.size();
    if (n == 0) return;
    double squares = 0;
    detail::for_each_normal_chunk(s, n, [&](std::size_t, const double* z, std::size_t count) {
      for (std::size_t j = 0; j < count; ++j) squares += z[j] * z[j];
    });
    const double u = RandomStream::to_unit_open(s.block((n + 3) / 4)[0]);
    const double scale = squares > 0 ? radius_ * std::pow(u, 1.0 / double(n)) / std::sqrt(squares) : 0.0;
    // The normals are drawn again rather than stored: out may be x.
    detail::for_each_normal_chunk(s, n, [&](std::size_t first, const double* z, std::size_t count) {
      for (std::size_t j = 0; j < count; ++j) out[first + j] = add_scaled_normal(x[first + j], z[j], scale);
    });
  }
  // argument_error when a point needs more normal numbers than one random stream holds.
  void check_item_numel(std::int64_t n) const { detail::require_normal_count(n + 4, "BallNoise"); }
  // Its name and radius, for messages.
  std::string describe() const { return "BallNoise(radius " + std::to_string(radius_) + ")"; }

 private:
  double radius_;
};

// x + a point uniform in the box [-half_width, half_width]^n (the L-inf ball).
class BoxNoise {
 public:
  // Noise uniform in the L-inf box of `half_width`.
  explicit BoxNoise(double half_width) : half_width_(detail::require_size(half_width, "BoxNoise", "half_width")) {}
  // The box's half width.
  double half_width() const { return half_width_; }

  // out = x + U(-half_width, half_width) per coordinate, drawn from stream s.
  template <class T>
  void apply(const RandomStream& s, std::span<const T> x, std::span<T> out) const {
    detail::require_same_length(x.size(), out.size(), "BoxNoise");
    for (std::size_t i = 0; i < out.size(); i += 4) {
      const auto w = s.block(i / 4);
      for (std::size_t j = 0; j < 4 && i + j < out.size(); ++j)
        out[i + j] = x[i + j] + T(half_width_ * (2 * RandomStream::to_unit(w[j]) - 1));
    }
  }
  // Any item size works.
  void check_item_numel(std::int64_t) const {}
  // Its name and half width, for messages.
  std::string describe() const { return "BoxNoise(half_width " + std::to_string(half_width_) + ")"; }

 private:
  double half_width_;
};

// Unlabelled points taken from another data set: x is replaced by row below(0, M) of the
// pool [M, ...] (uniform, with replacement; a new draw per key, so per epoch). The pool is a
// view: its memory must outlive the perturbation.
template <class T>
class DrawFromPool {
 public:
  // Draws from `pool` [M, ...], 1 <= M < 2^32; shape_error otherwise.
  explicit DrawFromPool(TensorView<const T> pool) : pool_(pool) {
    if (pool.rank() < 2 || pool.size(0) < 1 || pool.size(0) > std::int64_t(UINT32_MAX))
      throw shape_error("DrawFromPool: the pool " + pool.shape().to_string() +
                        " must be [M, ...] with 1 <= M < 2^32 points");
  }
  // The items it draws from.
  TensorView<const T> pool() const { return pool_; }

  // out = pool item below(0, M) of stream s.
  void apply(const RandomStream& s, std::span<const T> x, std::span<T> out) const {
    detail::require_same_length(x.size(), out.size(), "DrawFromPool");
    check_item_numel(std::int64_t(out.size()));
    const std::int64_t row = s.below(0, std::uint32_t(pool_.size(0)));
    const T* src = pool_.data() + row * pool_.shape().item_numel();
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = src[i];
  }
  // shape_error when the pool's points differ in size from the data's.
  void check_item_numel(std::int64_t n) const {
    if (n != pool_.shape().item_numel())
      throw shape_error("DrawFromPool: pool " + pool_.shape().to_string() + " has points of " +
                        std::to_string(pool_.shape().item_numel()) + " values, the data " + std::to_string(n));
  }
  // Its name and the pool's shape, for messages.
  std::string describe() const { return "DrawFromPool(" + pool_.shape().to_string() + ")"; }

 private:
  TensorView<const T> pool_;
};

}  // namespace farbound
