#pragma once
// A plane through an input x0 of an image classifier and what the model does on it: the
// predicted class and its softmax probability on a grid of points
//   x(a, b) = x0 + a u + b v,   (a, b) in [-R, R]^2,   u, v orthonormal (L2),
// optionally clipped to the input bounds. (a, b) are plane coordinates in input units:
// ||x(a, b) - x0||_2 = sqrt(a^2 + b^2) before clipping.
//
// The directions that make a plane worth looking at (docs/boundary.md): DeepFool's
// direction x_adv - x0 (the nearest boundary), the input gradient of the margin to the
// strongest other class, a random Gaussian direction, the direction to the nearest training
// image of another class, or any vector; make_image_plane orthonormalises the pair
// (Gram-Schmidt: v loses its component along u).
//
// Speed: the grid goes through the model in batches of `batch_size` points; the batch
// tensor and the model's activations are allocated once and reused, so a slice allocates
// nothing per point (benchmarks/image_slice.cpp times a 256 x 256 slice of LeNet).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "farbound/attack/bounds.hpp"
#include "farbound/attack/norm.hpp"
#include "farbound/core/error.hpp"
#include "farbound/core/format_number.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/random.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/metrics/plane_grid.hpp"
#include "farbound/nn/batches.hpp"
#include "farbound/nn/eval_mode.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound {

// A plane x(a, b) = x0 + a u + b v through an input x0 (make_image_plane builds one).
template <class T>
struct ImagePlane {
  Tensor<T> origin;            // x0, one item [1, ...]
  // First direction (the a axis): unit L2 norm, shaped like origin.
  Tensor<T> u;
  // Second direction (the b axis): unit L2 norm, orthogonal to u, shaped like origin.
  Tensor<T> v;
  std::optional<Bounds> clip;  // clip every point of the plane to these bounds, or not

  // The input at plane coordinates (a, b) into out (origin.numel() values).
  void point(double a, double b, T* out) const {
    const std::int64_t d = origin.numel();
    const T ta = T(a), tb = T(b);
    for (std::int64_t j = 0; j < d; ++j) out[j] = origin[j] + ta * u[j] + tb * v[j];
    if (clip)
      for (std::int64_t j = 0; j < d; ++j) out[j] = std::clamp(out[j], T(clip->lower), T(clip->upper));
  }
};

namespace detail {

template <class T>
double l2_norm(TensorView<const T> v) {
  return norm_of(v.data(), v.numel(), Norm::l2);
}

}  // namespace detail

// The plane through x0 [1, ...] spanned by the directions of `first` and `second` (any
// length): u = first / ||first||, v = the part of second orthogonal to u, normalised.
// Throws argument_error when a direction is zero or the two are parallel.
template <class T>
ImagePlane<T> make_image_plane(TensorView<const T> x0, TensorView<const T> first, TensorView<const T> second,
                               std::optional<Bounds> clip = std::nullopt) {
  const std::string who = "make_image_plane";
  if (x0.rank() < 2 || x0.size(0) != 1) throw shape_error(who + ": x0 must be one item [1, ...], got " + x0.shape().to_string());
  if (first.numel() != x0.numel() || second.numel() != x0.numel())
    throw shape_error(who + ": directions " + first.shape().to_string() + " and " + second.shape().to_string() +
                      " do not match x0 " + x0.shape().to_string());
  if (clip) clip->validate(who.c_str());
  const std::int64_t d = x0.numel();
  ImagePlane<T> plane{Tensor<T>(x0.shape()), Tensor<T>(x0.shape()), Tensor<T>(x0.shape()), clip};
  std::copy(x0.data(), x0.data() + d, plane.origin.data());
  const double nu = detail::l2_norm(first);
  if (!(nu > 0) || !std::isfinite(nu)) throw argument_error(who + ": the first direction is zero or not finite");
  double dot = 0;
  for (std::int64_t j = 0; j < d; ++j) dot += double(first[j]) / nu * double(second[j]);
  std::vector<double> w(static_cast<std::size_t>(d));
  double nw = 0;
  for (std::int64_t j = 0; j < d; ++j) {
    w[std::size_t(j)] = double(second[j]) - dot * double(first[j]) / nu;
    nw += w[std::size_t(j)] * w[std::size_t(j)];
  }
  nw = std::sqrt(nw);
  // Parallel up to rounding: less than 1e-6 of the second direction is left.
  if (!(nw > 1e-6 * detail::l2_norm(second)) || !std::isfinite(nw))
    throw argument_error(who + ": the second direction is zero or parallel to the first");
  for (std::int64_t j = 0; j < d; ++j) {
    plane.u[j] = T(double(first[j]) / nu);
    plane.v[j] = T(w[std::size_t(j)] / nw);
  }
  return plane;
}

// A direction of i.i.d. standard normal entries shaped like `item` (random directions are
// nearly orthogonal to any fixed one in high dimension). `index` picks one of many.
template <class T>
Tensor<T> random_direction(const Shape& item, std::uint64_t seed, std::uint32_t index) {
  Tensor<T> out(item);
  RandomStream(seed, Purpose::user, 0x51CE, index).normal(out.span());
  return out;
}

// grad_x (z_k - z_y) at x0 [1, ...], k the strongest class other than y: the direction in
// which the margin to the nearest rival grows fastest (first-order adversarial direction).
template <class T>
Tensor<T> margin_gradient_direction(Sequential<T>& model, TensorView<const T> x0, int y) {
  const EvalMode<T> eval(model);
  const TensorView<const T> logits = model.forward(x0);
  const std::int64_t c = logits.size(1);
  detail::require_classes(std::span<const int>(&y, 1), c, "margin_gradient_direction");
  Tensor<T> g(logits.shape());
  g.zero();
  g[detail::strongest_other_class(logits.data(), c, y)] = T(1);
  g[y] = T(-1);
  const TensorView<const T> grad = model.backward(g.view(), InputGrad::compute, ParamGrads::skip);
  Tensor<T> out(x0.shape());
  std::copy(grad.data(), grad.data() + grad.numel(), out.data());
  return out;
}

// x_j - x0 for the training image x_j nearest to x0 (L2) among those whose label is not y.
template <class T>
Tensor<T> nearest_other_class_direction(TensorView<const T> x0, int y, TensorView<const T> train,
                                        std::span<const int> train_labels) {
  detail::require_labels(train, train_labels, "nearest_other_class_direction");
  const std::int64_t d = x0.numel();
  detail::require_item_numel(train, d, "training images", "nearest_other_class_direction");
  double best = std::numeric_limits<double>::infinity();
  std::int64_t nearest = -1;
  for (std::int64_t i = 0; i < train.size(0); ++i) {
    if (train_labels[std::size_t(i)] == y) continue;
    const double dist = detail::distance(train.data() + i * d, x0.data(), d, Norm::l2);
    if (dist < best) best = dist, nearest = i;
  }
  if (nearest < 0) throw argument_error("nearest_other_class_direction: no training image of another class");
  Tensor<T> out(x0.shape());
  for (std::int64_t j = 0; j < d; ++j) out[j] = train[nearest * d + j] - x0[j];
  return out;
}

// The model on a grid over a plane: per cell, in grid order (plane_grid.hpp), the predicted
// class and its softmax probability (the max softmax).
struct ImageSlice {
  // The cells, in plane coordinates (input units).
  PlaneGrid grid;
  // Number of classes (logits) of the model.
  std::int64_t num_classes = 0;
  // Per cell, in grid order: the predicted class (argmax of the logits).
  std::vector<int> classes;
  // Per cell, in grid order: the predicted class's softmax probability (the max softmax).
  std::vector<float> confidence;
};

// The model over `side` x `side` cells covering [-radius, radius]^2 of the plane.
template <class T>
ImageSlice image_slice(Sequential<T>& model, const ImagePlane<T>& plane, double radius, std::int64_t side,
                       std::int64_t batch_size = 512) {
  if (!(radius > 0) || !std::isfinite(radius))
    throw argument_error("image_slice: radius must be positive and finite, got " + detail::format_number(radius));
  detail::require_batch_size(batch_size, "image_slice");
  ImageSlice out{PlaneGrid({-radius, radius, -radius, radius}, side, side), 0, {}, {}};
  const std::int64_t n = out.grid.size(), d = plane.origin.numel();
  out.classes.resize(std::size_t(n));
  out.confidence.resize(std::size_t(n));
  const EvalMode<T> eval(model);
  Tensor<T> x;
  for (std::int64_t first = 0; first < n; first += batch_size) {
    const std::int64_t b = std::min(batch_size, n - first);
    x.resize(plane.origin.shape().with_batch(b));
    parallel_for(b, [&](std::int64_t k) {
      const Point2 p = out.grid.centre((first + k) % side, (first + k) / side);
      plane.point(p.x, p.y, x.data() + k * d);
    });
    const TensorView<const T> logits = model.forward(x.view());
    const std::int64_t c = logits.size(1);
    out.num_classes = c;
    for (std::int64_t k = 0; k < b; ++k) {
      const T* z = logits.data() + k * c;
      const int top = detail::argmax(z, c);
      double sum = 0;
      for (std::int64_t q = 0; q < c; ++q) sum += std::exp(double(z[q]) - double(z[top]));
      out.classes[std::size_t(first + k)] = top;
      out.confidence[std::size_t(first + k)] = float(1 / sum);
    }
  }
  return out;
}

// The section of the norm ball {x : ||x - x0|| <= eps} by the (unclipped) plane, as a
// polygon of `vertices` points in plane coordinates: a circle of radius eps for L2; for
// L-inf the convex polygon {(a, b) : |a u_j + b v_j| <= eps for all j}, sampled in polar
// form r(theta) = eps / max_j |cos(theta) u_j + sin(theta) v_j|.
template <class T>
std::vector<Point2> ball_section(const ImagePlane<T>& plane, double eps, Norm norm, int vertices = 256) {
  if (!(eps >= 0) || !std::isfinite(eps)) throw argument_error("ball_section: eps must be finite and >= 0");
  if (vertices < 3) throw argument_error("ball_section: at least 3 vertices");
  std::vector<Point2> out(static_cast<std::size_t>(vertices));
  for (int k = 0; k < vertices; ++k) {
    const double theta = 2 * std::numbers::pi * k / vertices, c = std::cos(theta), s = std::sin(theta);
    double reach = 1;  // the L2 norm of the unit direction c u + s v
    if (norm == Norm::linf) {
      reach = 0;
      for (std::int64_t j = 0; j < plane.origin.numel(); ++j)
        reach = std::max(reach, std::abs(c * double(plane.u[j]) + s * double(plane.v[j])));
    }
    out[std::size_t(k)] = {c * eps / reach, s * eps / reach};
  }
  return out;
}

}  // namespace farbound
