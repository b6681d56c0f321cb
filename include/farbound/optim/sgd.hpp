#pragma once
// Stochastic gradient descent with momentum, PyTorch semantics (torch.optim.SGD).
//
//   d = g + weight_decay * p                      (L2 added to the gradient)
//   with momentum mu > 0:
//     b = d                                       on the first step
//     b = mu * b + (1 - dampening) * d            afterwards
//     d = d + mu * b   (Nesterov)   or   d = b
//   p = p - lr * d
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
#include "farbound/optim/detail/update_elements.hpp"
#include "farbound/optim/optimizer.hpp"

namespace farbound {

// SGD's settings: momentum, dampening, Nesterov, weight decay.
struct SgdOptions {
  // Momentum factor (0: none).
  double momentum = 0;
  // Dampening of the momentum.
  double dampening = 0;
  // Nesterov momentum.
  bool nesterov = false;
  // L2 weight decay, added to the gradient.
  double weight_decay = 0;
};

// Stochastic gradient descent with momentum (PyTorch's semantics).
template <class T>
class SGD final : public Optimizer<T> {
 public:
  // SGD over `params` at learning rate `lr`; argument_error for impossible settings.
  SGD(std::vector<Parameter<T>*> params, double lr, SgdOptions opt = {}) : Optimizer<T>(std::move(params), lr, "SGD"), opt_(opt) {
    auto bad = [](const char* what, double v) {
      std::ostringstream s;
      s << "SGD: " << what << " (got " << v << ")";
      throw argument_error(s.str());
    };
    if (!std::isfinite(opt.momentum) || opt.momentum < 0) bad("momentum must be finite and >= 0", opt.momentum);
    if (!std::isfinite(opt.dampening)) bad("dampening must be finite", opt.dampening);
    if (!std::isfinite(opt.weight_decay) || opt.weight_decay < 0) bad("weight_decay must be finite and >= 0", opt.weight_decay);
    if (opt.nesterov && (opt.momentum == 0 || opt.dampening != 0))
      bad("Nesterov momentum needs momentum > 0 and dampening 0; dampening", opt.dampening);
    if (opt.momentum != 0) this->add_slot("momentum_buffer");
  }

  // The settings it steps with.
  const SgdOptions& options() const { return opt_; }

  std::string describe() const override {
    std::ostringstream s;
    s << "SGD(lr " << this->lr() << ", momentum " << opt_.momentum << ", dampening " << opt_.dampening
      << (opt_.nesterov ? ", Nesterov" : "") << ", weight_decay " << opt_.weight_decay << ")";
    return s.str();
  }

 protected:
  // One step over n values of a parameter: weight decay into the gradient, momentum, update (PyTorch's SGD).
  void update(T* value, const T* grad, const std::array<T*, Optimizer<T>::max_slots>& state, std::size_t n,
              std::int64_t step) override {
    const T lr = static_cast<T>(this->lr()), wd = static_cast<T>(opt_.weight_decay);
    const T mu = static_cast<T>(opt_.momentum), keep = static_cast<T>(1 - opt_.dampening);
    const bool first = step == 1, nesterov = opt_.nesterov;
    if (opt_.momentum == 0) {
      detail::update_elements<0>(n, value, grad, {}, [&](auto& p, const auto& g, auto&) {
        using V = std::remove_cvref_t<decltype(p)>;
        p = p - V(lr) * (g + V(wd) * p);
      });
      return;
    }
    detail::update_elements<1>(n, value, grad, {state[0]}, [&](auto& p, const auto& g, auto& s) {
      using V = std::remove_cvref_t<decltype(p)>;
      const V d = g + V(wd) * p;
      V& b = s[0];
      b = first ? d : V(mu) * b + V(keep) * d;
      p = p - V(lr) * (nesterov ? d + V(mu) * b : b);
    });
  }

 private:
  SgdOptions opt_;
};

}  // namespace farbound
