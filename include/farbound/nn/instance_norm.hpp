#pragma once
// InstanceNorm2d: every (item n, channel c) plane of an [N, C, H, W] input is normalised by
// its own mean and biased variance over its M = H*W elements (PyTorch's InstanceNorm2d with
// track_running_stats=False, so training and evaluation behave alike):
//   mu = 1/M sum_i x_i,  var = 1/M sum_i (x_i - mu)^2,  r = 1/sqrt(var + eps)
//   xhat_i = (x_i - mu) r,  y_i = w_c xhat_i + b_c     (w = 1, b = 0 without affine)
// Backward, with dy the incoming gradient and sums over the plane:
//   dL/db_c += sum dy_i,   dL/dw_c += sum dy_i xhat_i
//   dL/dx_i  = w_c r (dy_i - 1/M sum dy - xhat_i/M sum dy xhat)
// (the last two terms are the gradient through mu and through var). Backward recomputes mu
// and r from the input, so it depends on nothing but its arguments.
//
// Planes run in parallel; each plane's sums run in a fixed order in double (a float sum over
// a 128x128 plane would lose digits; detail/plane_sums.hpp), and the per-plane parameter
// gradients are added over n in order: results do not depend on the thread count.
//
// Each plane is read once for all its sums (forward: two; backward: four), shifted by its
// first element K: with d_i = x_i - K, mu = K + S1/M and var = (S2 - S1^2/M)/M, where
// S1 = sum d, S2 = sum d^2. The subtraction loses at most a factor (K - mu)^2 / var + 1 of
// double's precision, and (K - mu)^2 <= M var because that one term is part of the sum
// M var = sum (x_i - mu)^2: under 2e-12 relative error at 128x128, far below a float's, for
// one pass instead of the two of the textbook's mean-then-deviations. The backward's
// sum dy (x - mu) is likewise sum dy d - S1/M sum dy.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/format_number.hpp"
#include "farbound/core/host_device.hpp"
#include "farbound/nn/detail/plane_sums.hpp"
#include "farbound/nn/layer.hpp"

namespace farbound {

// Instance normalisation over each item's channels, without affine parameters by default.
template <class T>
class InstanceNorm2d final : public Layer<T> {
 public:
  // affine: learn a per-channel scale w (initially 1) and shift b (initially 0).
  explicit InstanceNorm2d(std::int64_t channels, bool affine = false, double eps = 1e-5)
      : channels_(channels), eps_(eps) {
    if (channels < 1) throw argument_error("InstanceNorm2d: channels must be >= 1, got " + std::to_string(channels));
    if (!(eps > 0) || !std::isfinite(eps))
      throw argument_error("InstanceNorm2d: eps must be positive and finite, got " + detail::format_number(eps));
    if (affine) {
      params_.emplace_back("weight", Shape{channels});
      params_.emplace_back("bias", Shape{channels});
      reset_parameters(0, 0);
    }
  }

  // Channels normalised.
  std::int64_t channels() const { return channels_; }
  // Whether it learns a per-channel scale and shift.
  bool affine() const { return !params_.empty(); }
  // The epsilon added to the variance.
  double eps() const { return eps_; }

  std::string describe() const override {
    return "InstanceNorm2d(" + std::to_string(channels_) + (affine() ? ", affine" : "") + ", eps " +
           detail::format_number(eps_) + ")";
  }

  Shape output_shape(const Shape& input) const override {
    if (input.rank() != 4 || input[1] != channels_)
      throw shape_error(describe() + ": input " + input.to_string() + " must be [N, " + std::to_string(channels_) +
                        ", H, W]");
    // As PyTorch: the variance of a single element is 0 and the output would be b alone.
    if (input[2] * input[3] < 2)
      throw shape_error(describe() + ": input " + input.to_string() + " needs more than one spatial element");
    return input;
  }

  void forward(TensorView<const T> in, Tensor<T>& out) override {
    out.resize(output_shape(in.shape()));
    const std::int64_t m = plane_size(in.shape());
    const T* x_all = in.data();
    const auto sums = [&](std::int64_t p) __attribute__((always_inline)) { return shifted_sums(x_all + p * m, m); };
    for_each_plane(in.size(0) * channels_, m, sums, [&](std::int64_t p, const PlaneStats& s, const auto&) {
      const T* x = x_all + p * m;
      T* y = out.data() + p * m;
      // y = a (x - mu) + b as a (x - mu_T) + (b - a (mu - mu_T)), mu_T = mu rounded to T: x - mu_T
      // is exact where x lies within a factor 2 of the mean (Sterbenz), and the rounding of mu
      // goes into the constant, where a plane with a large offset and a small spread lost it
      // (x = 1000 + 0.01 z: y up to 9e-3 off the double layer, now 1e-7).
      const T a = T(s.rstd) * weight(p), mu = T(s.mean);
      const T b = T(double(bias(p)) - double(a) * (s.mean - double(mu)));
      for (std::int64_t i = 0; i < m; ++i) y[i] = (x[i] - mu) * a + b;
    });
  }

  void backward(TensorView<const T> in, TensorView<const T> out, TensorView<const T> grad_out, Tensor<T>* grad_in,
                ParamGrads param_grads) override {
    if (!(in.shape() == out.shape()) || !(out.shape() == grad_out.shape()))
      throw shape_error(describe() + "::backward: input " + in.shape().to_string() + ", output " +
                        out.shape().to_string() + " and grad_out " + grad_out.shape().to_string() + " must agree");
    const bool want_params = affine() && param_grads == ParamGrads::accumulate;
    if (!grad_in && !want_params) return;
    const std::int64_t m = plane_size(output_shape(in.shape()));
    const std::int64_t n = in.size(0), planes = n * channels_;
    if (grad_in) grad_in->resize(in.shape());
    // Per plane: sum dy and sum dy xhat, for the parameter gradients. (1/M as a product, as
    // in mean_variance: three divisions were a sixth of an 8 x 8 plane's backward.)
    plane_sums_.resize(Shape{planes, 2});
    const double inv_m = 1.0 / double(m);
    const T* x_all = in.data();
    const T* dy_all = grad_out.data();
    const auto sums = [&](std::int64_t p) __attribute__((always_inline)) {
      const T* dy = dy_all + p * m;
      return shifted_sums(x_all + p * m, m, [&](auto at, auto) { return at(dy); },
                          [&](auto at, auto d) { return at(dy) * d; });
    };
    for_each_plane(planes, m, sums, [&](std::int64_t p, const PlaneStats& s, const auto& plane) {
      const T* x = x_all + p * m;
      const T* dy = dy_all + p * m;
      // sum dy (x - mu) = sum dy d - (mu - K) sum dy, with mu - K = S1/M.
      const double sum_dy = plane.sums[2], sum_dy_xhat = (plane.sums[3] - plane.sums[0] * inv_m * sum_dy) * s.rstd;
      plane_sums_[2 * p] = sum_dy;
      plane_sums_[2 * p + 1] = sum_dy_xhat;
      if (!grad_in) return;
      // dx_i = a dy_i + k1 (x_i - mu) + k0 with a = w r, k1 = -a r/M sum dy xhat, k0 = -a/M sum dy.
      const double a = s.rstd * double(weight(p));
      // As in forward, k1 (x - mu) as k1 (x - mu_T) with the rest in k0.
      const T mu = T(s.mean);
      const double k1d = -a * s.rstd * sum_dy_xhat * inv_m;
      const T ta = T(a), k1 = T(k1d), k0 = T(-a * sum_dy * inv_m - k1d * (s.mean - double(mu)));
      T* dx = grad_in->data() + p * m;
      for (std::int64_t i = 0; i < m; ++i) dx[i] = ta * dy[i] + k1 * (x[i] - mu) + k0;
    });
    if (!want_params) return;
    Parameter<T>& w = params_[0];
    Parameter<T>& b = params_[1];
    for (std::int64_t c = 0; c < channels_; ++c) {
      double dw = 0, db = 0;
      for (std::int64_t item = 0; item < n; ++item) {
        db += plane_sums_[2 * (item * channels_ + c)];
        dw += plane_sums_[2 * (item * channels_ + c) + 1];
      }
      w.grad[c] += T(dw);
      b.grad[c] += T(db);
    }
  }

  void collect_parameters(std::vector<Parameter<T>*>& out) override {
    for (auto& p : params_) out.push_back(&p);
  }

  // PyTorch's initialisation: weight 1, bias 0 (nothing random).
  void reset_parameters(std::uint64_t /*seed*/, std::uint32_t /*layer_index*/) override {
    if (!affine()) return;
    params_[0].value.fill(T(1));
    params_[1].value.fill(T(0));
  }

 private:
  struct PlaneStats {
    double mean, rstd;
  };

  // A plane's sums around its first element K = x[0], in one pass over x: sums[0] S1 = sum d
  // and sums[1] S2 = sum d^2 with d = x - K, then one per extra term, each called as
  // term(at, d) (detail/plane_sums.hpp).
  template <std::size_t N>
  struct ShiftedSums {
    double shift;
    std::array<double, N> sums;
  };
  template <class... Extra>
  FARBOUND_FORCE_INLINE static ShiftedSums<2 + sizeof...(Extra)> shifted_sums(const T* x, std::int64_t m, Extra... extra) {
    const double shift = double(x[0]);
    const auto d = [=](auto at) { return at(x) - shift; };
    return {shift, detail::plane_sums<T>(
                       m, d, [=](auto at) { return d(at) * d(at); }, [=](auto at) { return extra(at, d(at)); }...)};
  }

  // A plane's mean and biased variance from its shifted sums, given 1/M (a product where a
  // division would take 13 cycles or more of each plane's 100 at 8 x 8).
  struct MeanVariance {
    double mean, variance;
  };
  template <std::size_t N>
  static MeanVariance mean_variance(const ShiftedSums<N>& s, double inv_m) {
    const double offset = s.sums[0] * inv_m;
    return {s.shift + offset, std::max(0.0, s.sums[1] * inv_m - offset * offset)};
  }

  // Calls f(p, plane p's statistics, sums_of(p)) for every plane p, in parallel; sums_of(p)
  // is shifted_sums of plane p. Planes of up to small_plane values (ResNet9's 8 x 8) go in
  // groups of small_plane_group vectors' width of doubles, whose square roots and divisions
  // run as vectors (the same bits) instead of two scalar operations of 15-20 cycles' latency
  // per plane: on two threads 8 x 8 planes' forward took 1.2x less time, their backward 1.4x
  // (one thread's forward 3 % more); four vectors rather than one, in flight together, 1.1x
  // less again on AVX2. Larger planes go one by one: a group falls out of L1 between its
  // sums and f (1.7x slower at 32 x 32, no faster at 16 x 16).
  static constexpr std::int64_t small_plane = 128, small_plane_group = 4;
  template <class SumsOf, class F>
  void for_each_plane(std::int64_t planes, std::int64_t m, SumsOf&& sums_of, F&& f) const {
    const double inv_m = 1.0 / double(m);
    if (m > small_plane) {
      parallel_for(planes, [&](std::int64_t p) {
        const auto sums = sums_of(p);
        const MeanVariance s = mean_variance(sums, inv_m);
        f(p, PlaneStats{s.mean, 1.0 / std::sqrt(s.variance + eps_)}, sums);
      });
      return;
    }
    using D = xsimd::batch<double>;
    constexpr std::int64_t width = std::int64_t(D::size), group = small_plane_group * width;
    parallel_chunks(planes, group, [&](std::int64_t begin, std::int64_t end) {
      alignas(64) double mean[group], variance[group], rstd[group];
      decltype(sums_of(begin)) sums[group];
      for (std::int64_t p = begin; p < end; ++p) {
        sums[p - begin] = sums_of(p);
        const MeanVariance s = mean_variance(sums[p - begin], inv_m);
        mean[p - begin] = s.mean;
        variance[p - begin] = s.variance;
      }
      std::fill(variance + (end - begin), variance + group, 0.0);  // a last group's lanes past its planes
      for (std::int64_t g = 0; g < group; g += width)
        (D(1.0) / xsimd::sqrt(D::load_aligned(variance + g) + D(eps_))).store_aligned(rstd + g);
      for (std::int64_t p = begin; p < end; ++p) f(p, PlaneStats{mean[p - begin], rstd[p - begin]}, sums[p - begin]);
    });
  }

  static std::int64_t plane_size(const Shape& s) { return s[2] * s[3]; }
  // Plane p's scale and shift (the remainder by the channels only with affine parameters: a
  // division per plane was measurable at 8 x 8).
  T weight(std::int64_t p) const { return affine() ? params_[0].value[p % channels_] : T(1); }
  T bias(std::int64_t p) const { return affine() ? params_[1].value[p % channels_] : T(0); }

  std::int64_t channels_;
  double eps_;
  std::vector<Parameter<T>> params_;  // empty, or {weight, bias}
  Tensor<double> plane_sums_;         // [N*C, 2]: sum dy, sum dy xhat per plane
};

}  // namespace farbound
