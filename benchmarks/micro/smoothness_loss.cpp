// The fused smoothness loss (forward and backward in one pass): the scalar reference
// (ScalarBlocks, libm) against the SIMD path the library runs (SimdBlocks), at B*K in
// {64, 4096, 262144} neighbour rows with K = 8 neighbours per anchor and C in
// {10, 50, 100, 1000} classes; counters bytes, copy and copy_share (micro/rates.hpp). Bytes
// per call: the anchor and neighbour logits, r and the labels read, both gradients written.
#include <cstdint>

#include <benchmark/benchmark.h>

#include "micro/rates.hpp"
#include "support/smoothness_problem.hpp"

namespace {
using namespace farbound;
using namespace farbound::bench;

template <class Blocks>
void smoothness(benchmark::State& state) {
  const std::int64_t rows = state.range(0), C = state.range(1), B = rows / SmoothnessProblem::neighbours_per_anchor;
  SmoothnessProblem problem(rows, C);
  const double bytes = double(2 * (B + rows) * C + rows + B) * sizeof(float);
  set_threads(int(state.range(2)));
  time_against_copy(state, bytes, [&] { benchmark::DoNotOptimize(problem.run<Blocks>()); });
}

// e.g. "smoothness_loss/simd/BK:262144/C:1000/threads:2"
const bool registered = [] {
  const auto add = [](const char* name, auto fn) {
    auto* b = benchmark::RegisterBenchmark(name, fn)->ArgNames({"BK", "C", "threads"})->UseManualTime()->Unit(benchmark::kMicrosecond);
    for (std::int64_t rows : {64, 4096, 262144})
      for (std::int64_t C : {10, 50, 100, 1000})  // 50: the wide lanes kernel
        for (std::int64_t t : thread_counts()) b->Args({rows, C, t});
  };
  add("smoothness_loss/scalar", smoothness<detail::ScalarBlocks>);
  add("smoothness_loss/simd", smoothness<detail::SimdBlocks>);
  return true;
}();

}  // namespace
