#pragma once
// Adam and AdamW, PyTorch semantics (torch.optim.Adam / AdamW, amsgrad off).
//
// They differ only in where weight decay enters, so they are one class template:
//   Adam  (L2 in the gradient):  g = g + weight_decay * p
//   AdamW (decoupled):           p = p * (1 - lr * weight_decay)
// then, with t the step number counted from 1:
//   m = beta1 * m + (1 - beta1) * g                  (first moment,  "exp_avg")
//   v = beta2 * v + (1 - beta2) * g * g              (second moment, "exp_avg_sq")
//   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// which is p -= lr * m_hat / (sqrt(v_hat) + eps) with eps added after the bias-corrected
// square root, as PyTorch does. The data-sparsity paper trains with Adam (L2 form).
// The gradient itself is left unchanged.
#include <array>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/nn/layer.hpp"
#include "farbound/optim/detail/divide_by_constant.hpp"
#include "farbound/optim/detail/update_elements.hpp"
#include "farbound/optim/optimizer.hpp"

namespace farbound {

// Where Adam's weight decay enters: added to the gradient (Adam) or applied to the
// parameter directly (AdamW, Loshchilov & Hutter).
enum class AdamWeightDecay { l2_in_gradient, decoupled };

// Adam's settings: betas, epsilon, weight decay.
struct AdamOptions {
  // Decay of the first moment.
  double beta1 = 0.9;
  // Decay of the second moment.
  double beta2 = 0.999;
  // Added to the root of the second moment.
  double eps = 1e-8;
  // L2 weight decay (in the gradient for Adam, decoupled for AdamW).
  double weight_decay = 0;
};

// Adam (PyTorch's semantics) or, with AdamWeightDecay::decoupled, AdamW.
template <class T, AdamWeightDecay Mode>
class AdamOptimizer final : public Optimizer<T> {
 public:
  // Its name.
  static constexpr const char* name = Mode == AdamWeightDecay::decoupled ? "AdamW" : "Adam";

  // PyTorch's defaults: weight decay 0 for Adam, 1e-2 for AdamW.
  static AdamOptions default_options() {
    AdamOptions o;
    if (Mode == AdamWeightDecay::decoupled) o.weight_decay = 1e-2;
    return o;
  }

  // Adam over `params` at learning rate `lr`; argument_error for impossible settings.
  explicit AdamOptimizer(std::vector<Parameter<T>*> params, double lr = 1e-3, AdamOptions opt = default_options())
      : Optimizer<T>(std::move(params), lr, name), opt_(opt) {
    auto bad = [](const char* what, double v) {
      std::ostringstream s;
      s << name << ": " << what << " (got " << v << ")";
      throw argument_error(s.str());
    };
    if (!(opt.beta1 >= 0 && opt.beta1 < 1)) bad("beta1 must lie in [0, 1)", opt.beta1);
    if (!(opt.beta2 >= 0 && opt.beta2 < 1)) bad("beta2 must lie in [0, 1)", opt.beta2);
    if (!std::isfinite(opt.eps) || opt.eps < 0) bad("eps must be finite and >= 0", opt.eps);
    if (!std::isfinite(opt.weight_decay) || opt.weight_decay < 0) bad("weight_decay must be finite and >= 0", opt.weight_decay);
    this->add_slot("exp_avg");
    this->add_slot("exp_avg_sq");
  }

  // The settings it steps with.
  const AdamOptions& options() const { return opt_; }

  std::string describe() const override {
    std::ostringstream s;
    s << name << "(lr " << this->lr() << ", betas (" << opt_.beta1 << ", " << opt_.beta2 << "), eps " << opt_.eps
      << ", weight_decay " << opt_.weight_decay << ")";
    return s.str();
  }

 protected:
  void update(T* value, const T* grad, const std::array<T*, Optimizer<T>::max_slots>& state, std::size_t n,
              std::int64_t step) override {
    // Step scalars in double, as PyTorch computes them in Python floats.
    const double lr = this->lr(), t = static_cast<double>(step);
    const T step_size = static_cast<T>(lr / (1 - std::pow(opt_.beta1, t)));
    const T bias_correction2_sqrt = static_cast<T>(std::sqrt(1 - std::pow(opt_.beta2, t)));
    const T inverse_bias_correction2_sqrt = T(1) / bias_correction2_sqrt;  // correctly rounded
    const T beta1 = static_cast<T>(opt_.beta1), beta2 = static_cast<T>(opt_.beta2);
    const T one_minus_beta1 = static_cast<T>(1 - opt_.beta1), one_minus_beta2 = static_cast<T>(1 - opt_.beta2);
    const T eps = static_cast<T>(opt_.eps), wd = static_cast<T>(opt_.weight_decay);
    const T decay = static_cast<T>(1 - lr * opt_.weight_decay);

    detail::update_elements<2>(n, value, grad, {state[0], state[1]}, [&](auto& p, const auto& grad_in, auto& s) {
      using V = std::remove_cvref_t<decltype(p)>;
      V g = grad_in;
      if constexpr (Mode == AdamWeightDecay::l2_in_gradient)
        g = g + V(wd) * p;
      else
        p = p * V(decay);
      V& m = s[0];
      V& v = s[1];
      m = V(beta1) * m + V(one_minus_beta1) * g;
      v = V(beta2) * v + V(one_minus_beta2) * g * g;
      const V v_hat_sqrt =
          detail::divide_by_constant(xsimd::sqrt(v), bias_correction2_sqrt, inverse_bias_correction2_sqrt);
      p = p - V(step_size) * (m / (v_hat_sqrt + V(eps)));
    });
  }

 private:
  AdamOptions opt_;
};

// Adam with L2 weight decay added to the gradient (torch.optim.Adam).
template <class T>
using Adam = AdamOptimizer<T, AdamWeightDecay::l2_in_gradient>;
// Adam with decoupled weight decay (torch.optim.AdamW).
template <class T>
using AdamW = AdamOptimizer<T, AdamWeightDecay::decoupled>;

}  // namespace farbound
