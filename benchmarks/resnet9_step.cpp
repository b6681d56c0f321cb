// ResNet9 forward + backward at batch 32: how fast, and where the time goes.
//
// The zoo's ResNet9 (CELU, InstanceNorm without affine, 3 x 32 x 32 inputs, 10 classes) on a
// [32, 3, 32, 32] float batch. One step is zeroing the gradients, the forward pass and the
// backward pass from a fixed dL/dlogits, which, as in training, stops at the first layer with
// parameters (the 3 -> 32 convolution after Normalize) and skips that layer's input gradient.
// benchmarks/resnet9_step_torch.py is the same step in PyTorch.
//
// Reported: the median step time over runs (wall clock), images/s, the FLOP rate of the
// convolutions and the dense layer (2 flops per multiply-add, forward + weight gradient +
// input gradient), and each top-level layer's forward and backward alone (fastest of the
// runs; a residual block is one line).
//
// Usage: resnet9_step [threads = 2] [runs = 5] [steps per run = 3]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <omp.h>

#include "farbound/core/parallel.hpp"
#include "farbound/nn/zoo.hpp"
#include "support/driver.hpp"

namespace {
using namespace farbound;
using namespace farbound::bench;

// Multiply-adds of one forward pass through layers [0, last): every Conv2d (also inside
// residual blocks) and Dense.
double forward_macs(const Sequential<float>& net, Shape s, std::size_t last = Sequential<float>::end) {
  double macs = 0;
  for (std::size_t i = 0; i < std::min(last, net.size()); ++i) {
    const Layer<float>& layer = net.layer(i);
    const Shape out = layer.output_shape(s);
    if (const auto* conv = dynamic_cast<const Conv2d<float>*>(&layer)) {
      const double k = double(conv->window().kernel);
      macs += double(out.numel()) * double(conv->in_channels()) * k * k;
    } else if (const auto* dense = dynamic_cast<const Dense<float>*>(&layer)) {
      macs += double(out[0]) * double(dense->in_features()) * double(dense->out_features());
    } else if (const auto* residual = dynamic_cast<const Residual<float>*>(&layer)) {
      macs += forward_macs(residual->body(), s);
    }
    s = out;
  }
  return macs;
}
}  // namespace

int main(int argc, char** argv) {
  const std::vector<int> args = positive_args(argc, argv, {2, 5, 3}, "resnet9_step [threads] [runs] [steps per run]");
  if (args.empty()) return 2;
  const int threads = args[0], runs = args[1], steps = args[2];
  set_threads(threads);
  const std::int64_t batch = 32;
  ModelSpec spec;
  spec.arch = "resnet9";
  spec.activation = "celu";
  spec.in_channels = 3;
  spec.mean = {0.4914, 0.4822, 0.4465};
  spec.stddev = {0.2470, 0.2435, 0.2616};
  Sequential<float> net = build_model<float>(spec, 27432);
  FixedBatchStep step(net, {batch, 3, 32, 32}, 10);
  step();  // workspaces

  // 3 products per layer, but Normalize has none and the first convolution (layer 1) no
  // input gradient: Sequential's backward stops there.
  const double flops = 2.0 * (3.0 * forward_macs(net, step.x.shape()) - forward_macs(net, step.x.shape(), 2));
  std::vector<double> step_s;
  for (int r = 0; r < runs; ++r) {
    const Instant t0 = Instant::now();
    for (int s = 0; s < steps; ++s) step();
    step_s.push_back(since(t0).wall / steps);
  }
  std::printf("ResNet9 forward+backward, batch %lld, float, %d threads on %s (%d cores online)\n", (long long)batch,
              threads, cpu_name().c_str(), omp_get_num_procs());
  print_run_conditions();
  const double t = median(step_s);
  std::printf("  step: median %.1f ms over %d runs of %d steps -> %.1f images/s, %.1f GFLOP/s (%.2f GFLOP per step)\n",
              t * 1e3, runs, steps, double(batch) / t, flops / t / 1e9, flops / 1e9);
  std::printf("RESULT farbound resnet9_step threads=%d ms=%.2f images_per_s=%.2f\n", threads, t * 1e3, double(batch) / t);
  print_layer_times(net, step.x, step.g, runs);
  return 0;
}
