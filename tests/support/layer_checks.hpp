#pragma once
// Checks shared by the layer tests: random tensors, "throws this error naming that", and
// "forward and backward give bitwise the same results on 1 and 2 threads".
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/random.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/layer.hpp"

namespace farbound::testing {

// A tensor of U(lo, hi) numbers from a stream keyed by `salt`.
template <class T>
Tensor<T> random_tensor(Shape shape, std::uint32_t salt, double lo = -1.0, double hi = 1.0) {
  Tensor<T> t(shape);
  RandomStream(777, Purpose::user, salt).uniform(t.span());
  for (auto& v : t.span()) v = T(lo + (hi - lo) * v);
  return t;
}

// A tensor holding `values` under `shape`.
template <class T>
Tensor<T> tensor_of(Shape shape, std::vector<double> values) {
  Tensor<T> t(shape);
  REQUIRE(std::int64_t(values.size()) == t.numel());
  for (std::size_t i = 0; i < values.size(); ++i) t[std::int64_t(i)] = T(values[i]);
  return t;
}

// Requires that f() throws E whose message contains `fragment`.
template <class E, class F>
void require_error(F&& f, const std::string& fragment) {
  try {
    f();
  } catch (const E& e) {
    INFO("message: " << e.what());
    CHECK(std::string(e.what()).find(fragment) != std::string::npos);
    return;
  }
  FAIL("expected an exception mentioning \"" << fragment << "\"");
}

inline bool bitwise_equal(const Tensor<float>& a, const Tensor<float>& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), std::size_t(a.numel()) * sizeof(float)) == 0;
}

// Runs forward and backward (input and parameter gradients) on 1 and then 2 threads and
// requires bitwise identical outputs and gradients. Leaves 2 threads set.
inline void require_thread_invariant(Layer<float>& layer, const Tensor<float>& input) {
  struct Run {
    Tensor<float> out, grad_in;
    std::vector<Tensor<float>> param_grads;
  } runs[2];
  const int thread_counts[2] = {1, 2};
  for (int r = 0; r < 2; ++r) {
    set_threads(thread_counts[r]);
    for (auto* p : layer.parameters()) p->grad.zero();
    layer.forward(input.view(), runs[r].out);
    const Tensor<float> grad_out = random_tensor<float>(runs[r].out.shape(), 4242);
    layer.backward(input.view(), runs[r].out.view(), grad_out.view(), &runs[r].grad_in, ParamGrads::accumulate);
    for (auto* p : layer.parameters()) runs[r].param_grads.push_back(p->grad.clone());
  }
  INFO(layer.describe() << " on input " << input.shape().to_string());
  CHECK(bitwise_equal(runs[0].out, runs[1].out));
  CHECK(bitwise_equal(runs[0].grad_in, runs[1].grad_in));
  for (std::size_t i = 0; i < runs[0].param_grads.size(); ++i)
    CHECK(bitwise_equal(runs[0].param_grads[i], runs[1].param_grads[i]));
}

}  // namespace farbound::testing
