#pragma once
// Normalize: y = (x - mean_c) / std_c per channel c (axis 1), as torchvision's
// transforms.Normalize but inside the model, as its first layer. So the data stay in raw
// units ([0, 1] pixels) and every perturbation size (noise sigmas, attack epsilons) is in
// those units; attacks differentiate through it. dL/dx = dL/dy / std_c. No parameters.
// A single mean and std apply to every channel (and to inputs of any shape), as in torchvision.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/format_number.hpp"
#include "farbound/nn/layer.hpp"

namespace farbound {

// Subtracts a per-channel mean and divides by a per-channel standard deviation, so inputs stay in raw units.
template <class T>
class Normalize final : public Layer<T> {
 public:
  // One mean and one standard deviation per channel, e.g. Normalize<float>({0.4914, 0.4822,
  // 0.4465}, {0.2470, 0.2435, 0.2616}), or one pair for all channels: Normalize<float>({0.1307}, {0.3081}).
  Normalize(std::vector<double> mean, std::vector<double> stddev) {
    if (mean.empty() || mean.size() != stddev.size())
      throw argument_error("Normalize: " + std::to_string(mean.size()) + " means and " +
                           std::to_string(stddev.size()) + " standard deviations; need one of each per channel");
    for (std::size_t c = 0; c < mean.size(); ++c) {
      if (!std::isfinite(mean[c]))
        throw argument_error("Normalize: mean of channel " + std::to_string(c) + " is " + detail::format_number(mean[c]));
      if (!(stddev[c] > 0) || !std::isfinite(stddev[c]))
        throw argument_error("Normalize: std of channel " + std::to_string(c) + " must be positive and finite, got " +
                             detail::format_number(stddev[c]));
    }
    mean_.assign(mean.begin(), mean.end());
    stddev_.assign(stddev.begin(), stddev.end());
  }

  // Number of channels (1: one pair for all).
  std::int64_t channels() const { return std::int64_t(mean_.size()); }
  // The means subtracted, per channel.
  const std::vector<T>& mean() const { return mean_; }
  // The standard deviations divided by, per channel.
  const std::vector<T>& stddev() const { return stddev_; }

  std::string describe() const override {
    auto list = [](const std::vector<T>& v) {
      std::string s = "[";
      for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + detail::format_number(double(v[i]));
      return s + "]";
    };
    return "Normalize(mean " + list(mean_) + ", std " + list(stddev_) + ")";
  }

  // Any [N, C, ...] input with C = channels(); any [N, ...] input when channels() is 1.
  Shape output_shape(const Shape& input) const override {
    if (channels() == 1) {
      if (input.rank() < 1) throw shape_error("Normalize: input " + input.to_string() + " has no batch axis");
      return input;
    }
    if (input.rank() < 2 || input[1] != channels())
      throw shape_error("Normalize: input " + input.to_string() + " must be [N, " + std::to_string(channels()) +
                        ", ...] (" + std::to_string(channels()) + " channels)");
    return input;
  }

  // The division (not a multiplication by 1/std) gives torchvision's values bit for bit.
  void forward(TensorView<const T> in, Tensor<T>& out) override {
    out.resize(output_shape(in.shape()));
    for_each_plane(in.shape(), [&](std::int64_t first, std::int64_t size, std::size_t c) {
      const T m = mean_[c], s = stddev_[c];
      for (std::int64_t i = first; i < first + size; ++i) out[i] = (in[i] - m) / s;
    });
  }

  void backward(TensorView<const T> in, TensorView<const T> /*out*/, TensorView<const T> grad_out, Tensor<T>* grad_in,
                ParamGrads /*param_grads*/) override {
    if (!grad_in) return;
    require_same_shape(in.shape(), grad_out.shape(), "Normalize::backward (input vs grad_out)");
    grad_in->resize(output_shape(in.shape()));
    for_each_plane(in.shape(), [&](std::int64_t first, std::int64_t size, std::size_t c) {
      const T s = stddev_[c];
      for (std::int64_t i = first; i < first + size; ++i) (*grad_in)[i] = grad_out[i] / s;
    });
  }

 private:
  // f(first element, element count, channel) for every (item, channel) plane, in parallel;
  // with a single statistic, every item is one plane.
  template <class F>
  void for_each_plane(const Shape& s, F f) const {
    const std::int64_t planes = s[0] * channels();
    const std::int64_t size = planes == 0 ? 0 : s.numel() / planes;
    parallel_for(planes, [&](std::int64_t p) { f(p * size, size, std::size_t(p % channels())); });
  }

  std::vector<T> mean_, stddev_;
};

}  // namespace farbound
