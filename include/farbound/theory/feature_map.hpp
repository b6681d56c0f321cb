#pragma once
// Feature maps (Wang, Gao, Qi; docs/papers.md section 2). A classifier f1 = c1 o g1 and an
// oracle f2 = c2 o g2 each look at an input x through a feature map g; g1 is learned (the
// output of some layer of a network), g2 is what the oracle attends to (all pixels, a few
// coordinates, a projection, or any function). Each g induces the pseudometric
// d'(x, x') = ||g(x) - g(x')||_2 (theory/pseudometric.hpp).
//
// A FeatureMap maps a batch x [N, ...] to features [N, F]. When g is linear, g(x) = P x
// with P [F, D], it also reports its geometry, which is what lets the estimators move an
// input by a controlled oracle distance: with the SVD P = U S V^T of rank r,
//   visible   = V_r S_r^{-1}   [D, r]:   P (visible c) = U_r c, so d'(x, x + visible c) = ||c||_2;
//   invisible = V_{r+1..D}     [D, D-r]: an orthonormal basis of null(P); moving along it
//                                        never changes g, so d' stays 0.
// The invisible directions are the oracle's blind spots: a classifier whose g1 changes
// along them has an unnecessary feature and cannot be strong-robust.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <Eigen/SVD>

#include "farbound/nn/eval_mode.hpp"
#include "farbound/core/error.hpp"
#include "farbound/core/shape.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound {

// Directions of the input space as a linear feature map sees them (see above). Column-major
// Eigen matrices in double: column j is one direction of D numbers.
struct FeatureGeometry {
  Eigen::MatrixXd visible;    // [D, r]
  Eigen::MatrixXd invisible;  // [D, D - r], orthonormal columns

  // D, the input's coordinates.
  std::int64_t input_numel() const { return visible.rows(); }
  // Dimension of the visible subspace.
  std::int64_t rank() const { return visible.cols(); }
  // Dimension of the invisible subspace.
  std::int64_t invisible_count() const { return invisible.cols(); }
};

// The geometry of g(x) = P x from the SVD of P (singular values below
// max(F, D) * eps * s_max count as zero).
inline FeatureGeometry linear_geometry(const Eigen::MatrixXd& p) {
  const std::int64_t d = p.cols();
  if (p.rows() < 1 || d < 1)
    throw shape_error("linear_geometry: projection of " + std::to_string(p.rows()) + " x " + std::to_string(d) +
                      " is empty");
  const Eigen::JacobiSVD<Eigen::MatrixXd> svd(p, Eigen::ComputeFullV);
  const Eigen::VectorXd& s = svd.singularValues();
  const double tolerance = double(std::max<std::int64_t>(p.rows(), d)) * Eigen::NumTraits<double>::epsilon() *
                           (s.size() > 0 ? s(0) : 0.0);
  std::int64_t r = 0;
  while (r < s.size() && s(r) > tolerance) ++r;
  FeatureGeometry g;
  g.visible = svd.matrixV().leftCols(r) * s.head(r).cwiseInverse().asDiagonal();
  g.invisible = svd.matrixV().rightCols(d - r);
  return g;
}

// A feature map g of an input (the g1 of a classifier or the g2 of an oracle).
template <class T>
class FeatureMap {
 public:
  virtual ~FeatureMap() = default;

  // What g is, e.g. "coordinates {0, 1, 2, 3}".
  virtual std::string describe() const = 0;

  // out = g(x) for every item of x [N, ...]; out is resized to [N, F].
  virtual void map(TensorView<const T> x, Tensor<T>& out) = 0;

  // The geometry of g for items of `input_numel` numbers when g is known to be linear;
  // nullopt otherwise (a learned layer, a user function).
  virtual std::optional<FeatureGeometry> geometry(std::int64_t /*input_numel*/) const { return std::nullopt; }
};

namespace detail {

// x must be a non-empty batch [N, ...].
template <class T>
void require_feature_input(TensorView<const T> x, const std::string& who) {
  if (x.rank() < 2 || x.size(0) < 1 || x.shape().item_numel() < 1)
    throw shape_error(who + ": inputs must be a non-empty batch [N, ...], got " + x.shape().to_string());
}

}  // namespace detail

// g1 of a network: the output of its first `layers` layers, flattened per item (e.g.
// layers = model.size() - 1: the features the last Dense layer classifies). Runs the model
// in evaluation mode; the model must outlive this map.
template <class T>
class LayerFeatures final : public FeatureMap<T> {
 public:
  // The output of the first `layers` layers of `model`, in eval mode.
  LayerFeatures(Sequential<T>& model, std::size_t layers) : model_(model), layers_(layers) {
    if (layers > model.size())
      throw argument_error("LayerFeatures: " + std::to_string(layers) + " layers asked of a model of " +
                           std::to_string(model.size()));
  }

  std::string describe() const override { return "output of the first " + std::to_string(layers_) + " layers"; }

  void map(TensorView<const T> x, Tensor<T>& out) override {
    detail::require_feature_input(x, "LayerFeatures");
    const EvalMode<T> eval(model_);
    const TensorView<const T> f = model_.forward(x, 0, layers_);
    const std::int64_t n = f.size(0);
    out.resize({n, f.shape().item_numel()});
    std::memcpy(out.data(), f.data(), std::size_t(f.numel()) * sizeof(T));
  }

 private:
  Sequential<T>& model_;
  std::size_t layers_;
};

// g(x) = x: an oracle that sees every input number (all pixels). No invisible direction.
template <class T>
class IdentityFeatures final : public FeatureMap<T> {
 public:
  std::string describe() const override { return "identity"; }

  void map(TensorView<const T> x, Tensor<T>& out) override {
    detail::require_feature_input(x, "IdentityFeatures");
    out.resize({x.size(0), x.shape().item_numel()});
    std::memcpy(out.data(), x.data(), std::size_t(x.numel()) * sizeof(T));
  }

  std::optional<FeatureGeometry> geometry(std::int64_t input_numel) const override {
    if (input_numel < 1) throw shape_error("IdentityFeatures: items of " + std::to_string(input_numel) + " numbers");
    return FeatureGeometry{Eigen::MatrixXd::Identity(input_numel, input_numel), Eigen::MatrixXd(input_numel, 0)};
  }
};

// g(x) = (x_{c_1}, ..., x_{c_F}): an oracle that sees only some input numbers (of the
// flattened item); every other coordinate is an invisible direction.
template <class T>
class CoordinateFeatures final : public FeatureMap<T> {
 public:
  // The input's coordinates `coordinates`, in that order.
  explicit CoordinateFeatures(std::vector<std::int64_t> coordinates) : coords_(std::move(coordinates)) {
    if (coords_.empty()) throw argument_error("CoordinateFeatures: no coordinates");
    std::vector<std::int64_t> sorted = coords_;
    std::sort(sorted.begin(), sorted.end());
    if (sorted.front() < 0)
      throw argument_error("CoordinateFeatures: negative coordinate " + std::to_string(sorted.front()));
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
      throw argument_error("CoordinateFeatures: coordinate " +
                           std::to_string(*std::adjacent_find(sorted.begin(), sorted.end())) + " listed twice");
  }

  // Coordinates [0, n): the first n numbers of each item.
  static CoordinateFeatures first(std::int64_t n) {
    if (n < 1) throw argument_error("CoordinateFeatures::first: n = " + std::to_string(n) + " must be >= 1");
    std::vector<std::int64_t> c(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) c[std::size_t(i)] = i;
    return CoordinateFeatures(std::move(c));
  }

  // The coordinates it keeps.
  const std::vector<std::int64_t>& coordinates() const { return coords_; }

  std::string describe() const override {
    std::string s = "coordinates {";
    for (std::size_t i = 0; i < coords_.size(); ++i) s += (i ? ", " : "") + std::to_string(coords_[i]);
    return s + "}";
  }

  void map(TensorView<const T> x, Tensor<T>& out) override {
    detail::require_feature_input(x, "CoordinateFeatures");
    const std::int64_t d = x.shape().item_numel(), n = x.size(0), f = std::int64_t(coords_.size());
    check_fits(d);
    out.resize({n, f});
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < f; ++j) out[i * f + j] = x[i * d + coords_[std::size_t(j)]];
  }

  std::optional<FeatureGeometry> geometry(std::int64_t input_numel) const override {
    check_fits(input_numel);
    const std::int64_t f = std::int64_t(coords_.size());
    FeatureGeometry g{Eigen::MatrixXd::Zero(input_numel, f), Eigen::MatrixXd::Zero(input_numel, input_numel - f)};
    std::vector<char> seen(static_cast<std::size_t>(input_numel), 0);
    for (std::int64_t j = 0; j < f; ++j) {
      g.visible(coords_[std::size_t(j)], j) = 1;
      seen[std::size_t(coords_[std::size_t(j)])] = 1;
    }
    for (std::int64_t i = 0, col = 0; i < input_numel; ++i)
      if (!seen[std::size_t(i)]) g.invisible(i, col++) = 1;
    return g;
  }

 private:
  void check_fits(std::int64_t d) const {
    const std::int64_t top = *std::max_element(coords_.begin(), coords_.end());
    if (top >= d)
      throw shape_error("CoordinateFeatures: coordinate " + std::to_string(top) + " outside items of " +
                        std::to_string(d) + " numbers");
  }

  std::vector<std::int64_t> coords_;
};

// g(x) = P x for a fixed matrix P [F, D] (given row-major): an oracle that sees a linear
// projection, e.g. a low-pass filter or a few principal components.
template <class T>
class LinearFeatures final : public FeatureMap<T> {
 public:
  // g(x) = P x with P of `features` x `input_numel`, given row-major.
  LinearFeatures(std::int64_t features, std::int64_t input_numel, const std::vector<double>& p_row_major) {
    if (features < 1 || input_numel < 1)
      throw argument_error("LinearFeatures: projection of " + std::to_string(features) + " x " +
                           std::to_string(input_numel) + " is empty");
    if (std::int64_t(p_row_major.size()) != features * input_numel)
      throw shape_error("LinearFeatures: " + std::to_string(p_row_major.size()) + " numbers for a " +
                        std::to_string(features) + " x " + std::to_string(input_numel) + " projection");
    p_.resize(features, input_numel);
    for (std::int64_t r = 0; r < features; ++r)
      for (std::int64_t c = 0; c < input_numel; ++c) p_(r, c) = p_row_major[std::size_t(r * input_numel + c)];
  }

  // P.
  const Eigen::MatrixXd& matrix() const { return p_; }

  std::string describe() const override {
    return "linear projection " + std::to_string(p_.rows()) + " x " + std::to_string(p_.cols());
  }

  void map(TensorView<const T> x, Tensor<T>& out) override {
    detail::require_feature_input(x, "LinearFeatures");
    const std::int64_t d = x.shape().item_numel(), n = x.size(0), f = p_.rows();
    check_fits(d);
    out.resize({n, f});
    // Accumulated in double: the oracle's distances should not depend on T's rounding.
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t r = 0; r < f; ++r) {
        double acc = 0;
        for (std::int64_t c = 0; c < d; ++c) acc += p_(r, c) * double(x[i * d + c]);
        out[i * f + r] = T(acc);
      }
  }

  std::optional<FeatureGeometry> geometry(std::int64_t input_numel) const override {
    check_fits(input_numel);
    return linear_geometry(p_);
  }

 private:
  void check_fits(std::int64_t d) const {
    if (d != p_.cols())
      throw shape_error("LinearFeatures: items of " + std::to_string(d) + " numbers for a projection of " +
                        std::to_string(p_.cols()) + " inputs");
  }

  Eigen::MatrixXd p_;
};

// g given by the user: fn(x, out) must write [N, ...] features for the N items of x (it is
// flattened to [N, F]). Not known to be linear, so it has no geometry: the estimators then
// sample x' in an input-space ball and keep the pairs whose d' is small enough.
template <class T>
class FunctionFeatures final : public FeatureMap<T> {
 public:
  // g as a function: fills out with g(x) for a batch x.
  using Function = std::function<void(TensorView<const T> x, Tensor<T>& out)>;

  // g = fn, called `name` in descriptions.
  FunctionFeatures(std::string name, Function fn) : name_(std::move(name)), fn_(std::move(fn)) {
    if (!fn_) throw argument_error("FunctionFeatures '" + name_ + "': empty function");
  }

  std::string describe() const override { return name_; }

  void map(TensorView<const T> x, Tensor<T>& out) override {
    detail::require_feature_input(x, "FunctionFeatures '" + name_ + "'");
    fn_(x, out);
    if (out.rank() < 1 || out.size(0) != x.size(0) || out.numel() < 1)
      throw shape_error("FunctionFeatures '" + name_ + "': features " + out.shape().to_string() + " for inputs " +
                        x.shape().to_string() + " (need [N, ...] with N = " + std::to_string(x.size(0)) + ")");
    out.resize({x.size(0), out.numel() / x.size(0)});  // the same elements, flattened per item
  }

 private:
  std::string name_;
  Function fn_;
};

}  // namespace farbound
