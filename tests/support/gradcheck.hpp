#pragma once
// Finite-difference checks for hand-written backward passes (double precision).
//
// The scalar probed is loss = sum(out * R) with a fixed random R, so d(loss)/d(out) = R.
// Every input element and every parameter element is perturbed by +-h and the central
// difference compared with the analytic gradient.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>

#include "farbound/core/random.hpp"
#include "farbound/nn/layer.hpp"

namespace farbound::testing {

// Fills t with uniform numbers in [lo, hi) from a stream keyed by `salt`.
inline void fill_uniform(TensorView<double> t, std::uint32_t salt, double lo = -1.0, double hi = 1.0) {
  RandomStream(12345, Purpose::user, salt).uniform(t.span());
  for (auto& v : t.span()) v = lo + (hi - lo) * v;
}

// |a - b| / max(|a|, |b|, 1e-3): relative, and absolute-with-a-floor for gradients near zero.
// |got - want| within rel * |want|, or within abs_floor near zero: for reference values.
inline bool close(double got, double want, double rel, double abs_floor) {
  return std::abs(got - want) <= std::max(abs_floor, rel * std::abs(want));
}

inline double relative_error(double a, double b) { return std::abs(a - b) / std::max({1e-3, std::abs(a), std::abs(b)}); }

struct GradcheckOptions {
  double h = 1e-5;
  double tolerance = 1e-6;
  bool check_input = true;
  bool check_params = true;
};

// Checks input and parameter gradients of `layer` at `input`. Returns the worst relative error.
inline double gradcheck(Layer<double>& layer, Tensor<double>& input, GradcheckOptions opt = {}) {
  Tensor<double> out;
  layer.forward(input.view(), out);
  Tensor<double> r(out.shape());
  fill_uniform(r.view(), 99);
  auto loss = [&]() {
    Tensor<double> o;
    layer.forward(input.view(), o);
    double s = 0;
    for (std::int64_t i = 0; i < o.numel(); ++i) s += o[i] * r[i];
    return s;
  };

  for (auto* p : layer.parameters()) p->grad.zero();
  layer.forward(input.view(), out);
  Tensor<double> grad_in;
  layer.backward(input.view(), out.view(), r.view(), opt.check_input ? &grad_in : nullptr, ParamGrads::accumulate);

  double worst = 0;
  auto probe = [&](double& x, double analytic, const std::string& what) {
    const double saved = x;
    x = saved + opt.h;
    const double up = loss();
    x = saved - opt.h;
    const double down = loss();
    x = saved;
    const double numeric = (up - down) / (2 * opt.h);
    const double err = relative_error(analytic, numeric);
    worst = std::max(worst, err);
    if (err > opt.tolerance) {
      INFO(layer.describe() << ": " << what << " analytic " << analytic << " numeric " << numeric);
      CHECK(err <= opt.tolerance);
    }
  };
  if (opt.check_input) {
    REQUIRE(grad_in.shape() == input.shape());
    for (std::int64_t i = 0; i < input.numel(); ++i) probe(input[i], grad_in[i], "input[" + std::to_string(i) + "]");
  }
  if (opt.check_params) {
    for (auto* p : layer.parameters())
      for (std::int64_t i = 0; i < p->value.numel(); ++i)
        probe(p->value[i], p->grad[i], p->name + "[" + std::to_string(i) + "]");
  }
  return worst;
}

}  // namespace farbound::testing
