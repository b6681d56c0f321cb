// Winograd F(2x2, 3x3) and F(4x4, 3x3) against the whole-batch implicit-im2col GEMM at
// ResNet9's 3x3 layers: the measurement behind Conv2d's choice of lowering
// (docs/performance.md).
//
// Per layer shape (batch 32, padding 1), each part alone: the weight transform, the input
// transform, the output transform, the whole Winograd forward and backward (weight and input
// gradients), and the direct lowering's forward product; fastest of `reps` calls, in process
// CPU seconds (both threads' work; on a shared machine less disturbed by the load than the
// wall clock; run it with OMP_WAIT_POLICY=passive, see support/driver.hpp). Rates are in
// "direct" GFLOP: 2 flops per multiply-add of the direct convolution, so a faster lowering
// shows a higher rate.
//
// Usage: winograd [threads = 2] [reps = 5]
#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <vector>

#include "farbound/core/parallel.hpp"
#include "farbound/nn/detail/conv_batch_lowering.hpp"
#include "farbound/nn/detail/winograd.hpp"
#include "support/driver.hpp"

namespace {
using namespace farbound;

double cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

template <class F>
double fastest_ms(int reps, F&& f) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double t0 = cpu_seconds();
    f();
    best = std::min(best, cpu_seconds() - t0);
  }
  return best * 1e3;
}

void compare(std::int64_t C, std::int64_t O, std::int64_t H, int reps) {
  const std::int64_t N = 32;
  Tensor<float> x({N, C, H, H}), w({O, C, 3, 3}), y({N, O, H, H}), dx({N, C, H, H}), dw({O, C, 3, 3});
  for (std::int64_t i = 0; i < x.numel(); ++i) x[i] = float(i % 17) * 0.1f - 0.8f;
  for (std::int64_t i = 0; i < w.numel(); ++i) w[i] = float(i % 13) * 0.01f;
  const std::vector<float> bias(std::size_t(O), 0.f);
  const detail::BatchConvGeometry g{N, C, H, H, 3, 1, H, H};
  const double direct = fastest_ms(reps, [&] {
    detail::parallel_packed_gemm<float>(O, g.columns(), g.rows(), detail::StridedMatrix<float>{w.data(), g.rows(), 1},
                                        detail::ImplicitIm2col<float>{g, x.data()},
                                        detail::ItemMatrix<float>{y.data(), O, g.positions()}, false);
  });
  const double gflop = 2.0 * double(N * H * H) * double(C * O * 9) / 1e9;  // one direct product
  for (const std::int64_t tile : {2, 4}) {
    const detail::WinogradGeometry wg{g, tile};
    detail::WinogradWorkspace<float> ws;
    const auto forward = [&] { detail::winograd_forward(wg, x.data(), w.data(), bias.data(), O, y.data(), ws); };
    const auto backward = [&] {
      detail::winograd_backward(wg, x.data(), w.data(), y.data(), O, dw.data(), dx.data(), ws);
    };
    forward();
    backward();
    const double weights = fastest_ms(reps, [&] { detail::winograd_weights(wg, w.data(), O, ws.weights); });
    const double inputs = fastest_ms(reps, [&] { detail::winograd_inputs(wg, x.data(), ws.inputs); });
    const double outputs = fastest_ms(reps, [&] { detail::winograd_outputs(wg, ws.products, bias.data(), O, y.data()); });
    const double fwd = fastest_ms(reps, forward), bwd = fastest_ms(reps, backward);
    std::printf("  F(%lld) %4lld -> %-4lld @ %2lldx%-2lld %8.2f %8.2f %8.2f %9.2f %9.2f %9.2f %7.2fx   %6.1f %6.1f\n",
                (long long)tile, (long long)C, (long long)O, (long long)H, (long long)H, weights, inputs, outputs, fwd, bwd,
                direct, direct / fwd, gflop / fwd * 1e3, 2 * gflop / bwd * 1e3);
  }
}
}  // namespace

int main(int argc, char** argv) {
  using namespace farbound::bench;
  const std::vector<int> args = positive_args(argc, argv, {2, 5}, "winograd [threads] [reps]");
  if (args.empty()) return 2;
  set_threads(args[0]);
  std::printf("Winograd F(2x2, 3x3) and F(4x4, 3x3) vs the whole-batch GEMM, batch 32, float, %d threads on %s\n", args[0],
              cpu_name().c_str());
  print_run_conditions();
  std::printf("  ms of process CPU, fastest of %d             weights   inputs  outputs   forward  backward  direct fwd"
              "   ratio  GFLOP/s fwd bwd\n",
              args[1]);
  for (const auto& [C, O, H] : std::vector<std::array<std::int64_t, 3>>{
           {32, 64, 32}, {64, 64, 16}, {64, 128, 16}, {128, 128, 8}, {128, 512, 8}, {512, 512, 8}})
    compare(C, O, H, args[1]);
  return 0;
}
