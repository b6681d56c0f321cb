#pragma once
// What the Google Benchmark micro-benchmarks share: the thread counts they run at, the
// counters they report, and a plain copy timed alongside the memory-bound kernels.
//
// Counters (per wall second: the work runs on OpenMP threads, whose CPU time the calling
// thread's clock does not see, so the benchmarks use real or manual time):
//   flops       floating-point operations per second (2 per multiply-add)
//   bytes       the bytes the kernel moves (each tensor it reads or writes, counted once) per second
//   copy        bytes per second (read + written) of a parallel memcpy of the same size (up to
//               256 MB moved), run after every call of the kernel on the same threads, its
//               64 KB chunks handed out one at a time (parallel_for_balanced), so that a
//               vCPU slowed by its neighbours does not hold the copy back (nor the ratio up)
//   copy_share  bytes / copy: how close a memory-bound kernel comes to a copy. The copy runs
//               interleaved with the kernel so that both see the same machine: on a shared
//               machine the rates drift, their ratio much less.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <vector>

#include <benchmark/benchmark.h>
#include <omp.h>

#include "farbound/core/parallel.hpp"
#include "farbound/core/tensor.hpp"

namespace farbound::bench {

// 1 and every core, the thread counts each benchmark runs at (argument "threads").
inline std::vector<std::int64_t> thread_counts() {
  const int cores = omp_get_num_procs();
  return cores > 1 ? std::vector<std::int64_t>{1, cores} : std::vector<std::int64_t>{1};
}

inline void report_flops(benchmark::State& state, double flops) {
  state.counters["flops"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
}

// The benchmark loop of a memory-bound kernel moving `bytes` per call: each iteration times
// kernel() (the benchmark's manual time, so register it with UseManualTime) and then a copy
// of the same number of bytes in 64 KB chunks over the threads set now.
template <class Kernel>
void time_against_copy(benchmark::State& state, double bytes, Kernel&& kernel) {
  using Clock = std::chrono::steady_clock;
  constexpr std::int64_t chunk = 16384, max_floats = std::int64_t(32) << 20;
  const std::int64_t n = std::clamp(std::int64_t(bytes / 8), chunk, max_floats);
  Tensor<float> src({n}, 1.0f), dst({n});
  const auto copy = [&] {
    parallel_for_balanced((n + chunk - 1) / chunk, [&](std::int64_t c) {
      const std::int64_t begin = c * chunk;
      std::memcpy(dst.data() + begin, src.data() + begin, std::size_t(std::min(chunk, n - begin)) * sizeof(float));
    });
    benchmark::ClobberMemory();
  };
  copy();
  double kernel_seconds = 0, copy_seconds = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    kernel();
    benchmark::ClobberMemory();
    const auto t1 = Clock::now();
    copy();
    const auto t2 = Clock::now();
    const double seconds = std::chrono::duration<double>(t1 - t0).count();
    state.SetIterationTime(seconds);
    kernel_seconds += seconds;
    copy_seconds += std::chrono::duration<double>(t2 - t1).count();
  }
  const double calls = double(state.iterations());
  const double kernel_rate = bytes * calls / kernel_seconds, copy_rate = 2.0 * double(n) * sizeof(float) * calls / copy_seconds;
  state.counters["bytes"] = benchmark::Counter(kernel_rate);
  state.counters["copy"] = benchmark::Counter(copy_rate);
  state.counters["copy_share"] = benchmark::Counter(kernel_rate / copy_rate);
}

}  // namespace farbound::bench
