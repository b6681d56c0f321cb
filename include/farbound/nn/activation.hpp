#pragma once
// Element-wise activations: one layer, Elementwise<T, Op>, and one small op per function.
//
// An op gives y = f(x) and f'(x), the latter evaluated from the input x and/or the output
// y = f(x), whichever is cheaper or more accurate (sigmoid: y(1-y); CELU: exp(x/alpha)).
// Both work on xsimd batches, so every activation is vectorised; the layer runs them over
// the tensor in fixed chunks in parallel (detail/simd_transform.hpp):
//   forward   y = f(x)
//   backward  dL/dx = dL/dy * f'(x, y)
// Every op is finite for finite inputs of any size: exponentials are only taken of
// non-positive numbers or, where they may overflow to inf, the lane is discarded by a
// select, never multiplied by zero.
//
// A new activation is a struct with describe(), value(B) and derivative(B x, B y) on
// B = simd::batch<T>, used as Elementwise<T, MyOp>.
#include <cmath>
#include <concepts>
#include <string>
#include <utility>

#include "farbound/core/error.hpp"
#include "farbound/core/simd.hpp"
#include "farbound/core/format_number.hpp"
#include "farbound/nn/detail/simd_transform.hpp"
#include "farbound/nn/layer.hpp"

namespace farbound {

template <class Op, class T>
concept ElementwiseOp = requires(const Op op, simd::batch<T> x) {
  { op.describe() } -> std::convertible_to<std::string>;
  { op.value(x) } -> std::same_as<simd::batch<T>>;
  { op.derivative(x, x) } -> std::same_as<simd::batch<T>>;
};

namespace detail {

// 1 / (1 + e^-x): for x -> -inf, e^-x overflows to inf and the quotient is exactly 0;
// for x -> +inf, e^-x underflows to 0 and the quotient is 1. No NaN either way. The
// exponential has xsimd::exp(-x)'s bits wherever the quotient depends on them (core/exp.hpp's
// exp_negated; on AVX-512 the sigmoid of x from -88.72 to -88.376 is then its subnormal value
// rather than 0).
template <class T>
simd::batch<T> sigmoid(simd::batch<T> x) {
  using B = simd::batch<T>;
  return B(T(1)) / (B(T(1)) + simd::exp_negated(x));
}

// log(1 + e^x) = max(x, 0) + log1p(e^-|x|): the exponential never overflows and log1p
// keeps full precision where softplus(x) ~ e^x is tiny.
template <class T>
simd::batch<T> softplus(simd::batch<T> x) {
  using B = simd::batch<T>;
  return xsimd::max(x, B(T(0))) + xsimd::log1p(simd::exp_nonpositive(-xsimd::abs(x)));
}

inline void require_finite(double v, const char* what) {
  if (!std::isfinite(v)) throw argument_error(std::string(what) + " must be finite, got " + format_number(v));
}
inline void require_positive(double v, const char* what) {
  if (!(v > 0) || !std::isfinite(v))
    throw argument_error(std::string(what) + " must be positive and finite, got " + format_number(v));
}

}  // namespace detail

// ReLU: max(x, 0). f' = 1 for x > 0, else 0 (PyTorch's choice at the kink).
template <class T>
struct ReLUOp {
  // A SIMD register of T.
  using B = simd::batch<T>;
  // Its name in layer descriptions.
  std::string describe() const { return "ReLU"; }
  // Written as "x < 0 ? 0 : x" so that NaN propagates, as in PyTorch.
  B value(B x) const { return xsimd::select(x < B(T(0)), B(T(0)), x); }
  // d relu / dx: 1 for x > 0, else 0.
  B derivative(B x, B /*y*/) const { return xsimd::select(x > B(T(0)), B(T(1)), B(T(0))); }
};

// LeakyReLU: x for x > 0, else slope * x.
template <class T>
struct LeakyReLUOp {
  // A SIMD register of T.
  using B = simd::batch<T>;
  // Slope for x < 0.
  T slope;
  // LeakyReLU with slope `negative_slope` for x < 0.
  explicit LeakyReLUOp(double negative_slope = 0.01) : slope(T(negative_slope)) {
    detail::require_finite(negative_slope, "LeakyReLU: slope");
  }
  // Its name and slope in layer descriptions.
  std::string describe() const { return "LeakyReLU(slope " + detail::format_number(double(slope)) + ")"; }
  // x for x > 0, slope * x otherwise.
  B value(B x) const { return xsimd::select(x > B(T(0)), x, B(slope) * x); }
  // 1 for x > 0, slope otherwise.
  B derivative(B x, B /*y*/) const { return xsimd::select(x > B(T(0)), B(T(1)), B(slope)); }
};

// Sigmoid: y = 1 / (1 + e^-x), f' = y (1 - y).
template <class T>
struct SigmoidOp {
  // A SIMD register of T.
  using B = simd::batch<T>;
  // Its name in layer descriptions.
  std::string describe() const { return "Sigmoid"; }
  // 1 / (1 + exp(-x)).
  B value(B x) const { return detail::sigmoid<T>(x); }
  // y (1 - y), from the output y.
  B derivative(B /*x*/, B y) const { return y * (B(T(1)) - y); }
};

// Tanh: y = tanh(x), f' = 1 - y^2.
template <class T>
struct TanhOp {
  // A SIMD register of T.
  using B = simd::batch<T>;
  // Its name in layer descriptions.
  std::string describe() const { return "Tanh"; }
  // tanh(x).
  B value(B x) const { return xsimd::tanh(x); }
  // 1 - y^2, from the output y.
  B derivative(B /*x*/, B y) const { return B(T(1)) - y * y; }
};

// CELU (Barron 2017): x for x > 0, else alpha (e^(x/alpha) - 1); f' = 1 for x > 0, else
// e^(x/alpha). The derivative is taken from x, not from y/alpha + 1, which cancels
// catastrophically for x << 0.
template <class T>
struct CELUOp {
  // A SIMD register of T.
  using B = simd::batch<T>;
  // alpha.
  T alpha;
  // 1 / alpha.
  T inv_alpha;
  // CELU with alpha `a` > 0.
  explicit CELUOp(double a = 1.0) : alpha(T(a)), inv_alpha(T(1.0 / a)) { detail::require_positive(a, "CELU: alpha"); }
  // Its name and alpha in layer descriptions.
  std::string describe() const { return "CELU(alpha " + detail::format_number(double(alpha)) + ")"; }
  // x for x > 0, alpha (exp(x / alpha) - 1) otherwise.
  B value(B x) const { return xsimd::select(x > B(T(0)), x, B(alpha) * simd::expm1_nonpositive(x * B(inv_alpha))); }
  // 1 for x > 0, exp(x / alpha) otherwise (the exponential's lanes with x > 0 are not used).
  B derivative(B x, B /*y*/) const { return xsimd::select(x > B(T(0)), B(T(1)), simd::exp_nonpositive(x * B(inv_alpha))); }
};

// Softplus as PyTorch: y = log(1 + e^(beta x)) / beta, and y = x where beta x > threshold
// (there the two differ by less than e^-threshold); f' = sigmoid(beta x), or 1 above the
// threshold.
template <class T>
struct SoftplusOp {
  // A SIMD register of T.
  using B = simd::batch<T>;
  // beta.
  T beta;
  // 1 / beta.
  T inv_beta;
  // The threshold above which the output is linear.
  T threshold;
  // Softplus with sharpness `b` > 0, linear above `thresh` (PyTorch's beta and threshold).
  explicit SoftplusOp(double b = 1.0, double thresh = 20.0) : beta(T(b)), inv_beta(T(1.0 / b)), threshold(T(thresh)) {
    detail::require_positive(b, "Softplus: beta");
    detail::require_finite(thresh, "Softplus: threshold");
  }
  // Its name and settings in layer descriptions.
  std::string describe() const {
    return "Softplus(beta " + detail::format_number(double(beta)) + ", threshold " +
           detail::format_number(double(threshold)) + ")";
  }
  // log(1 + exp(beta x)) / beta, x itself above the threshold.
  B value(B x) const {
    const B z = B(beta) * x;
    return xsimd::select(z > B(threshold), x, detail::softplus<T>(z) * B(inv_beta));
  }
  // sigmoid(beta x), 1 above the threshold.
  B derivative(B x, B /*y*/) const {
    const B z = B(beta) * x;
    return xsimd::select(z > B(threshold), B(T(1)), detail::sigmoid<T>(z));
  }
};

// Mish (Misra 2019): y = x tanh(softplus(x)). With e = e^x and n = e (e + 2) = (1 + e)^2 - 1:
//   t = tanh(log(1 + e)) = n / (n + 2),   1 - t^2 = 4 (n + 1) / (n + 2)^2
//   f' = t + x sigmoid(x) (1 - t^2),      sigmoid(x) = e / (1 + e) = d softplus/dx
// One exponential, and 1 - t^2 without the cancellation of computing it from t. For x < 0,
// e -> 0 and t ~ e keeps full relative precision. Above x = 20, t = 1 to double precision
// (1 - t < 2 e^-40), so y = x and f' = 1; clamping e there keeps (n + 2)^2 within float range.
template <class T>
struct MishOp {
  // A SIMD register of T.
  using B = simd::batch<T>;
  // Above this x, tanh(softplus(x)) = 1 to double precision: y = x, f' = 1.
  static constexpr T linear_above = T(20);
  // Its name in layer descriptions.
  std::string describe() const { return "Mish"; }
  // x tanh(softplus(x)).
  B value(B x) const {
    const B e = clamped_exp(x), n = e * (e + B(T(2)));
    return xsimd::select(x > B(linear_above), x, x * n / (n + B(T(2))));
  }
  // The derivative of x tanh(softplus(x)).
  B derivative(B x, B /*y*/) const {
    const B e = clamped_exp(x), n = e * (e + B(T(2))), d = n + B(T(2));
    const B one_minus_t2 = B(T(4)) * (n + B(T(1))) / (d * d);
    const B slope = n / d + x * (e / (B(T(1)) + e)) * one_minus_t2;
    return xsimd::select(x > B(linear_above), B(T(1)), slope);
  }

 private:
  static B clamped_exp(B x) { return simd::exp_full_range(xsimd::min(x, B(linear_above))); }
};

// The layer: y = f(x) element by element, any shape; no parameters.
template <class T, class Op>
  requires ElementwiseOp<Op, T>
class Elementwise final : public Layer<T> {
 public:
  // Arguments go to the op: LeakyReLU<float>(0.2), Softplus<double>(2.0, 10.0).
  template <class... Args>
    requires std::constructible_from<Op, Args...>
  explicit Elementwise(Args&&... args) : op_(std::forward<Args>(args)...) {}

  // The elementwise function it applies.
  const Op& op() const { return op_; }
  std::string describe() const override { return op_.describe(); }
  Shape output_shape(const Shape& input) const override { return input; }

  void forward(TensorView<const T> in, Tensor<T>& out) override {
    out.resize(in.shape());
    detail::simd_transform(
        in.numel(), [this](simd::batch<T> x) { return op_.value(x); }, out.data(), in.data());
  }

  void backward(TensorView<const T> in, TensorView<const T> out, TensorView<const T> grad_out, Tensor<T>* grad_in,
                ParamGrads /*param_grads*/) override {
    if (!grad_in) return;
    if (!(in.shape() == out.shape()) || !(out.shape() == grad_out.shape()))
      throw shape_error(op_.describe() + "::backward: input " + in.shape().to_string() + ", output " +
                        out.shape().to_string() + " and grad_out " + grad_out.shape().to_string() + " must agree");
    grad_in->resize(in.shape());
    detail::simd_transform(
        in.numel(), [this](simd::batch<T> x, simd::batch<T> y, simd::batch<T> g) { return g * op_.derivative(x, y); },
        grad_in->data(), in.data(), out.data(), grad_out.data());
  }

 private:
  Op op_;
};

// max(x, 0) as a layer.
template <class T>
using ReLU = Elementwise<T, ReLUOp<T>>;
// LeakyReLU as a layer; arguments go to LeakyReLUOp.
template <class T>
using LeakyReLU = Elementwise<T, LeakyReLUOp<T>>;
// The logistic sigmoid as a layer.
template <class T>
using Sigmoid = Elementwise<T, SigmoidOp<T>>;
// tanh as a layer.
template <class T>
using Tanh = Elementwise<T, TanhOp<T>>;
// CELU as a layer; arguments go to CELUOp.
template <class T>
using CELU = Elementwise<T, CELUOp<T>>;
// Softplus as a layer; arguments go to SoftplusOp.
template <class T>
using Softplus = Elementwise<T, SoftplusOp<T>>;
// Mish as a layer.
template <class T>
using Mish = Elementwise<T, MishOp<T>>;

}  // namespace farbound
