#pragma once
// What the benchmark drivers here share: wall and CPU seconds, medians, the load average and
// the CPU's name for the report, argument parsing, a model's training step on a fixed batch,
// and each layer of a model timed alone.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include "farbound/core/random.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound::bench {

using Clock = std::chrono::steady_clock;

// Wall-clock and process CPU seconds. The process's CPU time lags where the kernel accounts
// CPU time by ticks (Linux without VIRT_CPU_ACCOUNTING, as on the machines measured since
// 2026-12-02): a thread still running on another CPU, an OpenMP worker spinning after its
// region, has its time added at its next tick or sleep, so an interval of a few
// milliseconds counts little of it. Per-CPU-second rates on several threads are then too
// high unless the workers sleep between regions (OMP_WAIT_POLICY=passive).
struct Instant {
  Clock::time_point wall;
  std::clock_t cpu;
  static Instant now() { return {Clock::now(), std::clock()}; }
};
struct Elapsed {
  double wall, cpu;
};
inline Elapsed since(const Instant& t0) {
  return {std::chrono::duration<double>(Clock::now() - t0.wall).count(), double(std::clock() - t0.cpu) / CLOCKS_PER_SEC};
}

// The wall-clock seconds of each of `calls` calls of f, in order.
template <class F>
std::vector<double> call_seconds(int calls, F&& f) {
  std::vector<double> seconds;
  for (int call = 0; call < calls; ++call) {
    const Instant t0 = Instant::now();
    f();
    seconds.push_back(since(t0).wall);
  }
  return seconds;
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The machine's 1-minute load average: on a shared machine, other processes competing for
// the cores change every number here.
inline std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string one;
  return f >> one ? one : "unknown";
}

// Positional integer arguments, each >= 1, defaulting to `values`; an empty vector (after
// printing the usage line) when one is not.
inline std::vector<int> positive_args(int argc, char** argv, std::vector<int> values, const char* usage) {
  for (int i = 1; i < argc && i <= int(values.size()); ++i) values[std::size_t(i - 1)] = std::atoi(argv[i]);
  for (int v : values)
    if (v < 1) {
      std::fprintf(stderr, "usage: %s\n", usage);
      return {};
    }
  return values;
}

// "  load average L, OMP_WAIT_POLICY=P": what decides how far the wall clock can be trusted.
inline void print_run_conditions() {
  const char* wait_policy = std::getenv("OMP_WAIT_POLICY");
  std::printf("  load average %s, OMP_WAIT_POLICY=%s\n", load_average().c_str(), wait_policy ? wait_policy : "(unset)");
}

inline std::string cpu_name() {
  std::ifstream f("/proc/cpuinfo");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

// One training step of `net` on a fixed random batch: zero the gradients, forward x (uniform
// in [0, 1)), backward from a fixed dL/dlogits g (normal, sd 0.1).
struct FixedBatchStep {
  Sequential<float>& net;
  Tensor<float> x, g;
  std::vector<Parameter<float>*> params;

  FixedBatchStep(Sequential<float>& model, const Shape& input, std::int64_t classes)
      : net(model), x(input), g({input[0], classes}), params(model.parameters()) {
    RandomStream(1, Purpose::user, 0).uniform(x.span());
    RandomStream(1, Purpose::user, 1).normal(g.span(), 0.1);
  }
  void operator()() {
    for (auto* p : params) p->grad.zero();
    net.forward(x.view());
    net.backward(g.view());
  }
};

// Each layer's forward and backward run alone (wall clock, fastest of `runs`), in the order
// of a training step and as Sequential runs them in training: the layers before the first
// with parameters have no backward pass (0 in the table) and that layer no input gradient.
// Composite layers (a residual block) are timed as one.
inline void print_layer_times(Sequential<float>& net, const Tensor<float>& x, const Tensor<float>& g, int runs) {
  const std::size_t n = net.size();
  std::size_t first_trained = 0;
  while (first_trained + 1 < n && net.layer(first_trained).parameters().empty()) ++first_trained;
  std::vector<Tensor<float>> outs(n), grads(n);
  std::vector<double> fwd(n, 1e30), bwd(n, 1e30);
  std::fill_n(bwd.begin(), first_trained, 0.0);
  for (int r = 0; r < runs; ++r) {
    TensorView<const float> in = x.view();
    for (std::size_t i = 0; i < n; ++i) {
      const Instant t0 = Instant::now();
      net.layer(i).forward(in, outs[i]);
      fwd[i] = std::min(fwd[i], since(t0).wall);
      in = outs[i].view();
    }
    TensorView<const float> grad = g.view();
    for (std::size_t i = n; i-- > first_trained;) {
      const TensorView<const float> layer_in = i == 0 ? x.view() : outs[i - 1].view();
      const bool input_grad = i > first_trained;
      const Instant t0 = Instant::now();
      net.layer(i).backward(layer_in, outs[i].view(), grad, input_grad ? &grads[i] : nullptr, ParamGrads::accumulate);
      bwd[i] = std::min(bwd[i], since(t0).wall);
      if (input_grad) grad = grads[i].view();
    }
  }
  double total = 0;
  std::printf("  per layer (fastest of %d runs, us)     forward   backward\n", runs);
  for (std::size_t i = 0; i < n; ++i) {
    std::printf("    %-40s %8.1f   %8.1f\n", net.layer(i).describe().c_str(), fwd[i] * 1e6, bwd[i] * 1e6);
    total += fwd[i] + bwd[i];
  }
  std::printf("    %-40s %8.1f us in all\n", "sum", total * 1e6);
}

}  // namespace farbound::bench
