// farbound's GEMM next to Eigen's sgemm and next to the cores' FMA peak, in one binary.
//
// Shapes: support/gemm_shapes.hpp (1024^3, LeNet's and ResNet9's products), float, row-major.
// Per thread count, per run, every shape is timed for farbound then Eigen (interleaved, so
// both see the same machine), each the fastest of `reps` calls; the figures are medians over
// runs. Rates are per wall-clock second (see `fastest`). The peak is a loop of independent
// FMA chains (12 accumulator vectors per thread, 2 per FMA unit times the FMA latency) run on
// the same threads in every run.
//
// Usage: gemm [runs = 5] [reps = 3] [max threads = 2]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <omp.h>
#include <xsimd/xsimd.hpp>

#include "farbound/core/host_device.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/nn/detail/gemm.hpp"
#include "support/driver.hpp"
#include "support/gemm_shapes.hpp"

namespace {
using namespace farbound;
using namespace farbound::bench;
using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// GFLOP/s of `threads` threads each running independent FMA chains that never wait on each
// other: the arithmetic ceiling the GEMM is measured against. Each call is short (a few ms)
// so that the fastest of several escapes the other processes on a shared machine.
double fma_peak(int threads) {
  using V = xsimd::batch<float>;
  constexpr int chains = 12;
  constexpr long steps = 200'000;
  float sink = 0;
  const Instant t0 = Instant::now();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
  {
    V acc[chains];
    for (int c = 0; c < chains; ++c) acc[c] = V(float(c) * 1e-3f);
    const V a(0.999999f), b(1e-7f);
    for (long s = 0; s < steps; ++s)  // the chains in registers at any -O (FARBOUND_UNROLL)
      FARBOUND_UNROLL for (int c = 0; c < chains; ++c) acc[c] = detail::gemm_impl::fused_multiply_add(acc[c], a, b);
    for (int c = 0; c < chains; ++c) sink += xsimd::hadd(acc[c]);
  }
  const double seconds = since(t0).wall;
  if (sink == 12345.f) std::printf(" ");  // keeps the chains alive
  return 2.0 * chains * V::size * double(steps) * threads / seconds / 1e9;
}

// Fastest of `reps` calls of f, in wall-clock seconds. Not process CPU seconds / threads:
// with tick-based CPU accounting (Linux without VIRT_CPU_ACCOUNTING, as on the machines
// measured since 2026-12-02) a thread running on another CPU has its time added only at the
// next tick, so calls of a few milliseconds counted little of the second thread's time and
// rates on two threads came out up to twice too high (the FMA peak four times one thread's).
template <class F>
double fastest(int reps, F&& f) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const Instant t0 = Instant::now();
    f();
    best = std::min(best, since(t0).wall);
  }
  return best;
}

struct Operands {
  RowMatrix a, b, c_eigen, c_ours;
  explicit Operands(const GemmShape& s)
      : a(RowMatrix::Random(s.M, s.K)), b(RowMatrix::Random(s.K, s.N)), c_eigen(s.M, s.N), c_ours(s.M, s.N) {}
};
}  // namespace

int main(int argc, char** argv) {
  const std::vector<int> args = positive_args(argc, argv, {5, 3, 2}, "gemm [runs] [reps] [max threads]");
  if (args.empty()) return 2;
  const int runs = args[0], reps = args[1], max_threads_arg = args[2];
  std::printf("GEMM, float, row-major, on %s (%d cores online), load average %s\n", cpu_name().c_str(),
              omp_get_num_procs(), load_average().c_str());
  const std::vector<GemmShape> all = gemm_shapes();
  std::vector<Operands> operands;
  for (const auto& s : all) operands.emplace_back(s);

  for (int threads = 1; threads <= max_threads_arg; ++threads) {
    set_threads(threads);
    Eigen::setNbThreads(threads);
    std::vector<std::vector<double>> ours(all.size()), eigen(all.size());
    std::vector<double> peak;
    for (int r = 0; r < runs; ++r) {
      double best_peak = 0;
      for (int p = 0; p < 10; ++p) best_peak = std::max(best_peak, fma_peak(threads));
      peak.push_back(best_peak);
      for (std::size_t i = 0; i < all.size(); ++i) {
        const GemmShape& s = all[i];
        Operands& o = operands[i];
        const double flops = 2.0 * double(s.M) * double(s.N) * double(s.K);
        ours[i].push_back(flops / 1e9 / fastest(reps, [&] {
          detail::parallel_gemm<float>(s.M, s.N, s.K, {o.a.data(), s.K, 1}, detail::StridedRows<float>{o.b.data(), s.N},
                                       o.c_ours.data(), s.N, detail::GemmOutput::overwrite);
        }));
        eigen[i].push_back(flops / 1e9 / fastest(reps, [&] { o.c_eigen.noalias() = o.a * o.b; }));
      }
    }
    const double peak_rate = median(peak);
    std::printf("\n%d thread%s: FMA peak %.1f GFLOP/s (median of %d runs)\n", threads, threads > 1 ? "s" : "", peak_rate,
                runs);
    std::printf("  %-26s %6s %6s %5s   %8s %8s  %7s  %7s\n", "shape", "M", "N", "K", "farbound", "Eigen", "% Eigen",
                "% peak");
    for (std::size_t i = 0; i < all.size(); ++i) {
      const GemmShape& s = all[i];
      const double f = median(ours[i]), e = median(eigen[i]);
      std::printf("  %-26s %6lld %6lld %5lld   %8.1f %8.1f  %6.1f%%  %6.1f%%\n", s.name.c_str(), (long long)s.M,
                  (long long)s.N, (long long)s.K, f, e, 100 * f / e, 100 * f / peak_rate);
      const float diff = (operands[i].c_ours - operands[i].c_eigen).cwiseAbs().maxCoeff();
      if (!(diff <= 1e-3f * float(s.K))) {
        std::fprintf(stderr, "gemm: %s differs from Eigen by %g\n", s.name.c_str(), double(diff));
        return 1;
      }
    }
  }
  return 0;
}
