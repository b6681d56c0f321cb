// farbound's GEMM at the shapes of support/gemm_shapes.hpp (C = A B, float, row-major,
// overwriting C), on 1 thread and on every core; counter flops. benchmarks/gemm compares the
// same shapes with Eigen's sgemm and the FMA peak.
#include <algorithm>
#include <string>

#include <benchmark/benchmark.h>

#include "farbound/core/random.hpp"
#include "farbound/nn/detail/gemm.hpp"
#include "micro/rates.hpp"
#include "support/gemm_shapes.hpp"

namespace {
using namespace farbound;
using namespace farbound::bench;

void gemm(benchmark::State& state, const GemmShape& s) {
  set_threads(int(state.range(0)));
  Tensor<float> a({s.M, s.K}), b({s.K, s.N}), c({s.M, s.N});
  RandomStream(1, Purpose::user, 0).uniform(a.span());
  RandomStream(1, Purpose::user, 1).uniform(b.span());
  for (auto _ : state) {
    detail::parallel_gemm<float>(s.M, s.N, s.K, {a.data(), s.K, 1}, detail::StridedRows<float>{b.data(), s.N}, c.data(), s.N,
                                 detail::GemmOutput::overwrite);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  report_flops(state, 2.0 * double(s.M) * double(s.N) * double(s.K));
}

// e.g. "gemm/resnet9_conv_512->512/M:512/N:2048/K:4608/threads:2"
const bool registered = [] {
  for (const GemmShape& s : gemm_shapes()) {
    std::string name = "gemm/" + s.name;
    std::erase_if(name, [](char ch) { return ch == '(' || ch == ')'; });
    std::replace(name.begin(), name.end(), ' ', '_');
    name += "/M:" + std::to_string(s.M) + "/N:" + std::to_string(s.N) + "/K:" + std::to_string(s.K);
    auto* b = benchmark::RegisterBenchmark(name.c_str(), gemm, s)->ArgName("threads")->UseRealTime()->Unit(benchmark::kMicrosecond);
    for (std::int64_t t : thread_counts()) b->Arg(t);
  }
  return true;
}();

}  // namespace
