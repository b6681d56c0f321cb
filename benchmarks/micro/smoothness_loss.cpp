// The fused smoothness loss (forward and backward in one pass): the scalar reference
// (ScalarBlocks, libm) against the SIMD path the library runs (SimdBlocks), at B*K in
// {64, 4096, 262144} neighbour rows with K = 8 neighbours per anchor and C in
// {10, 50, 100, 1000} classes; counters bytes, copy and copy_share (micro/rates.hpp). Bytes
// per call: the anchor and neighbour logits, r and the labels read, both gradients written.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "farbound/core/random.hpp"
#include "farbound/regularize/smoothness_loss.hpp"
#include "micro/rates.hpp"

namespace {
using namespace farbound;
using namespace farbound::bench;

constexpr std::int64_t neighbours_per_anchor = 8;

// Standard normals, in runs of 2^20 (one random stream holds at most 2^26 numbers).
void fill_normal(Tensor<float>& t, std::uint32_t salt) {
  constexpr std::int64_t run = std::int64_t(1) << 20;
  for (std::int64_t begin = 0; begin < t.numel(); begin += run)
    RandomStream(1, Purpose::user, salt, std::uint32_t(begin / run))
        .normal(t.span().subspan(std::size_t(begin), std::size_t(std::min(run, t.numel() - begin))));
}

template <class Blocks>
void smoothness(benchmark::State& state) {
  const std::int64_t rows = state.range(0), C = state.range(1), B = rows / neighbours_per_anchor;
  const int threads = int(state.range(2));
  Tensor<float> anchors({B, C}), neighbours({rows, C}), r({rows}), anchor_grad({B, C}), neighbour_grad({rows, C});
  fill_normal(anchors, 0);
  fill_normal(neighbours, 1);
  RandomStream(1, Purpose::user, 2).uniform(r.span());
  for (float& v : r.span()) v += 0.5f;
  // Touched once before timing: at B*K = 262144 and C = 1000 the first write to the 1 GB of
  // gradients would time 260 000 page faults along with the kernel (a single call is timed).
  anchor_grad.zero();
  neighbour_grad.zero();
  std::vector<std::int32_t> labels(static_cast<std::size_t>(B));
  for (std::int64_t i = 0; i < B; ++i) labels[std::size_t(i)] = std::int32_t(i % C);
  const double bytes = double(2 * (B + rows) * C + rows + B) * sizeof(float);
  set_threads(threads);
  time_against_copy(state, bytes, [&] {
    const auto value = detail::smoothness_loss_with<Blocks, float>(anchors.view(), neighbours.view(), r.view(), labels, 1.0f,
                                                                  anchor_grad.view(), neighbour_grad.view());
    benchmark::DoNotOptimize(value);
  });
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
