// Each layer's forward and backward alone, at the shapes it has in LeNet (batch 64; its dense
// layers also at batch 2) and ResNet9 (batch 32), on 1 thread and on every core. Convolutions
// and dense layers report flops (forward: the product; backward: weight and input gradient,
// twice the forward's); the memory-bound layers report bytes, copy and copy_share against a
// copy of the same size run after each call (micro/rates.hpp), counting each tensor the
// layer's pass reads or writes once:
//   activation     forward in + out (2n floats); backward in, out, grad_out, grad_in (4n)
//   InstanceNorm   forward 2n; backward in, grad_out, grad_in (3n; the statistics are recomputed)
//   max-pool k     forward n + n/k^2; backward in, out, grad_out, grad_in (2n + 2n/k^2)
//   residual add   x + body(x) with an empty body, so both operands are x: forward 2n, backward 2n
//   Normalize      forward 2n; backward grad_out, grad_in (2n)
// Backward runs with ParamGrads::accumulate and the input gradient, after one forward.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "farbound/core/random.hpp"
#include "farbound/nn/activation.hpp"
#include "farbound/nn/conv2d.hpp"
#include "farbound/nn/dense.hpp"
#include "farbound/nn/instance_norm.hpp"
#include "farbound/nn/normalize.hpp"
#include "farbound/nn/pool.hpp"
#include "farbound/nn/residual.hpp"
#include "micro/rates.hpp"

namespace {
using namespace farbound;
using namespace farbound::bench;

struct LayerCase {
  std::string name;  // "resnet9/conv_512->512_8x8"
  Shape input;
  std::function<std::unique_ptr<Layer<float>>()> make;
  double flops[2] = {0, 0};  // forward, backward; 0 for memory-bound layers
  double bytes[2] = {0, 0};  // forward, backward; 0 for compute-bound layers
};

std::string plane(const Shape& s) { return std::to_string(s[2]) + "x" + std::to_string(s[3]); }

LayerCase conv(const std::string& model, Shape in, std::int64_t out_channels, std::int64_t kernel, std::int64_t padding) {
  const std::int64_t in_channels = in[1];
  auto make = [=] { return std::make_unique<Conv2d<float>>(in_channels, out_channels, kernel, 1, padding); };
  const Shape out = make()->output_shape(in);
  const double forward = 2.0 * double(out.numel()) * double(in_channels * kernel * kernel);
  return {model + "/conv_" + std::to_string(in_channels) + "->" + std::to_string(out_channels) + "_" + plane(in), in, make,
          {forward, 2 * forward}};
}

LayerCase dense(const std::string& model, std::int64_t batch, std::int64_t in, std::int64_t out) {
  const double forward = 2.0 * double(batch * in * out);
  return {model + "/dense_" + std::to_string(in) + "->" + std::to_string(out), Shape{batch, in},
          [=] { return std::make_unique<Dense<float>>(in, out); }, {forward, 2 * forward}};
}

// A memory-bound layer moving forward_floats and backward_floats per input element.
LayerCase memory(const std::string& name, Shape in, std::function<std::unique_ptr<Layer<float>>()> make,
                 double forward_floats, double backward_floats) {
  const double n = double(in.numel()) * sizeof(float);
  return {name + "_" + plane(in), in, std::move(make), {0, 0}, {forward_floats * n, backward_floats * n}};
}

LayerCase max_pool(const std::string& model, Shape in, std::int64_t k) {
  const double share = 1.0 / double(k * k);
  return memory(model + "/max_pool" + std::to_string(k) + "_" + std::to_string(in[1]), in,
                [k] { return std::make_unique<MaxPool2d<float>>(k); }, 1 + share, 2 + 2 * share);
}

template <class L, class... Args>
std::function<std::unique_ptr<Layer<float>>()> maker(Args... args) {
  return [=] { return std::make_unique<L>(args...); };
}

std::vector<LayerCase> cases() {
  const std::int64_t lb = 64, rb = 32;  // LeNet's and ResNet9's batch
  return {
      conv("lenet", {lb, 1, 32, 32}, 6, 5, 0),
      memory("lenet/sigmoid_6", {lb, 6, 28, 28}, maker<Sigmoid<float>>(), 2, 4),
      max_pool("lenet", {lb, 6, 28, 28}, 2),
      conv("lenet", {lb, 6, 14, 14}, 16, 5, 0),
      memory("lenet/sigmoid_16", {lb, 16, 10, 10}, maker<Sigmoid<float>>(), 2, 4),
      max_pool("lenet", {lb, 16, 10, 10}, 2),
      dense("lenet", lb, 400, 120),
      dense("lenet", lb, 120, 84),
      dense("lenet", lb, 84, 10),
      // The training benchmark's batch 1: one anchor and its neighbour.
      dense("lenet_batch2", 2, 400, 120),
      dense("lenet_batch2", 2, 120, 84),
      dense("lenet_batch2", 2, 84, 10),
      memory("resnet9/normalize", {rb, 3, 32, 32},
             maker<Normalize<float>>(std::vector<double>{0.4914, 0.4822, 0.4465}, std::vector<double>{0.2470, 0.2435, 0.2616}), 2,
             2),
      conv("resnet9", {rb, 3, 32, 32}, 32, 3, 1),
      memory("resnet9/instance_norm_32", {rb, 32, 32, 32}, maker<InstanceNorm2d<float>>(std::int64_t(32)), 2, 3),
      memory("resnet9/celu_32", {rb, 32, 32, 32}, maker<CELU<float>>(), 2, 4),
      conv("resnet9", {rb, 32, 32, 32}, 64, 3, 1),
      memory("resnet9/instance_norm_64", {rb, 64, 32, 32}, maker<InstanceNorm2d<float>>(std::int64_t(64)), 2, 3),
      memory("resnet9/celu_64", {rb, 64, 32, 32}, maker<CELU<float>>(), 2, 4),
      max_pool("resnet9", {rb, 64, 32, 32}, 2),
      conv("resnet9", {rb, 64, 16, 16}, 64, 3, 1),
      memory("resnet9/residual_add_64", {rb, 64, 16, 16}, maker<Residual<float>>(), 2, 2),
      conv("resnet9", {rb, 64, 16, 16}, 128, 3, 1),
      max_pool("resnet9", {rb, 128, 16, 16}, 2),
      conv("resnet9", {rb, 128, 8, 8}, 128, 3, 1),
      conv("resnet9", {rb, 128, 8, 8}, 512, 3, 1),
      memory("resnet9/instance_norm_512", {rb, 512, 8, 8}, maker<InstanceNorm2d<float>>(std::int64_t(512)), 2, 3),
      memory("resnet9/celu_512", {rb, 512, 8, 8}, maker<CELU<float>>(), 2, 4),
      conv("resnet9", {rb, 512, 8, 8}, 512, 3, 1),
      max_pool("resnet9", {rb, 512, 8, 8}, 8),
      dense("resnet9", rb, 512, 10),
      max_pool("other", {rb, 64, 32, 32}, 4),  // a run-time window that spans part of each row
  };
}

// pass 0: forward; pass 1: backward (after one forward).
void run_layer(benchmark::State& state, const LayerCase& c, int pass) {
  const int threads = int(state.range(0));
  const std::unique_ptr<Layer<float>> layer = c.make();
  layer->reset_parameters(1, 0);
  Tensor<float> x(c.input), out, grad_in;
  RandomStream(1, Purpose::user, 0).normal(x.span());
  set_threads(threads);
  layer->forward(x.view(), out);
  Tensor<float> g(out.shape());
  RandomStream(1, Purpose::user, 1).normal(g.span(), 0.1);
  const auto run = [&] {
    if (pass == 0)
      layer->forward(x.view(), out);
    else
      layer->backward(x.view(), out.view(), g.view(), &grad_in, ParamGrads::accumulate);
  };
  if (c.bytes[pass] > 0) return time_against_copy(state, c.bytes[pass], run);
  for (auto _ : state) {
    run();
    benchmark::ClobberMemory();
  }
  report_flops(state, c.flops[pass]);
}

// e.g. "layer/resnet9/conv_512->512_8x8/backward/threads:2"
const bool registered = [] {
  for (const LayerCase& c : cases())
    for (int pass : {0, 1}) {
      const std::string name = "layer/" + c.name + (pass == 0 ? "/forward" : "/backward");
      auto* b = benchmark::RegisterBenchmark(name.c_str(), run_layer, c, pass)->ArgName("threads")->Unit(benchmark::kMicrosecond);
      if (c.bytes[pass] > 0)
        b->UseManualTime();
      else
        b->UseRealTime();
      for (std::int64_t t : thread_counts()) b->Arg(t);
    }
  return true;
}();

}  // namespace
