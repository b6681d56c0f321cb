// One Conv2d layer (stride 1) at a shape given on the command line: the forward pass and the
// backward pass (weight and bias gradients, and the input gradient unless asked not to),
// each the median of `runs` calls, wall clock, with the direct convolution's GFLOP/s (2 flops
// per multiply-add). Conv2d picks its lowering from the shape (nn/conv2d.hpp); to compare
// lowerings, run two builds that choose differently (docs/performance.md does).
//
// Usage: conv_layer THREADS IN OUT KERNEL PADDING SIZE BATCH [input gradient 0/1 = 1] [runs = 60]
//   e.g. conv_layer 2 3 32 3 1 32 32 0     (ResNet9's RGB input layer as in training)
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "farbound/core/parallel.hpp"
#include "farbound/core/random.hpp"
#include "farbound/nn/conv2d.hpp"
#include "support/driver.hpp"

namespace {
using namespace farbound;
using namespace farbound::bench;

void time_layer(long threads, long in, long out, long kernel, long padding, long size, long batch, bool input_grad,
                long runs) {
  set_threads(int(threads));
  Conv2d<float> conv(in, out, kernel, 1, padding);
  conv.reset_parameters(1, 0);
  Tensor<float> x({batch, in, size, size}), y, grad_in;
  RandomStream(1, Purpose::user, 0).normal(x.span());
  conv.forward(x.view(), y);
  Tensor<float> g(y.shape());
  RandomStream(1, Purpose::user, 1).normal(g.span(), 0.1);

  std::vector<double> forward, backward;
  for (long r = 0; r < runs; ++r) {
    const Instant t0 = Instant::now();
    conv.forward(x.view(), y);
    forward.push_back(since(t0).wall);
    const Instant t1 = Instant::now();
    conv.backward(x.view(), y.view(), g.view(), input_grad ? &grad_in : nullptr, ParamGrads::accumulate);
    backward.push_back(since(t1).wall);
  }
  const double macs = double(y.numel()) * double(in * kernel * kernel);
  const double f = median(forward), b = median(backward);
  std::printf("%s on [%ld, %ld, %ld, %ld], %ld threads on %s\n", conv.describe().c_str(), batch, in, size, size, threads,
              cpu_name().c_str());
  print_run_conditions();
  std::printf("  forward %.1f us (%.1f GFLOP/s), backward%s %.1f us (%.1f GFLOP/s), median of %ld\n", f * 1e6,
              2 * macs / f * 1e-9, input_grad ? "" : " without the input gradient", b * 1e6,
              (input_grad ? 4 : 2) * macs / b * 1e-9, runs);
}

}  // namespace

int main(int argc, char** argv) {
  const char* usage = "conv_layer THREADS IN OUT KERNEL PADDING SIZE BATCH [input gradient 0/1 = 1] [runs = 60]";
  if (argc < 8) {
    std::fprintf(stderr, "usage: %s\n", usage);
    return 2;
  }
  std::vector<long> a;
  for (int i = 1; i < argc; ++i) a.push_back(std::atol(argv[i]));
  const long runs = argc > 9 ? a[8] : 60;
  if (a[0] < 1 || a[1] < 1 || a[2] < 1 || a[3] < 1 || a[4] < 0 || a[5] < 1 || a[6] < 1 || runs < 1) {
    std::fprintf(stderr, "%s: PADDING must be >= 0 and the other arguments positive\nusage: %s\n", argv[0], usage);
    return 2;
  }
  try {
    time_layer(a[0], a[1], a[2], a[3], a[4], a[5], a[6], argc > 8 ? a[7] != 0 : true, runs);
  } catch (const farbound::error& e) {  // a geometry Conv2d refuses (a kernel larger than the padded image)
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    return 2;
  }
  return 0;
}
