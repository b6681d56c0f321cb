// The fused smoothness loss (regularize/smoothness_loss.hpp) at any number of classes: the
// micro-benchmark covers C in {10, 50, 100, 1000}; this driver takes B*K and C from the
// command line, to find where one kernel gives way to another (docs/performance.md), on the
// micro-benchmark's inputs (support/smoothness_problem.hpp); prints the median and the least
// of `runs` calls, wall clock, and ns per neighbour row.
//
// Usage: smoothness_classes [threads = 1] [rows = 4096] [classes = 10] [runs = 200]
//   (rows = B*K, a multiple of 8), e.g. smoothness_classes 1 4096 20
#include <algorithm>
#include <cstdio>
#include <exception>
#include <vector>

#include "farbound/core/parallel.hpp"
#include "support/driver.hpp"
#include "support/smoothness_problem.hpp"

namespace {
using namespace farbound;
using namespace farbound::bench;

void time_loss(int threads, int rows, int classes, int runs) {
  set_threads(threads);
  SmoothnessProblem problem(rows, classes);
  const std::vector<double> seconds = call_seconds(runs, [&] { problem.run(); });
  const double m = median(seconds), least = *std::min_element(seconds.begin(), seconds.end());
  std::printf("smoothness loss, B*K = %d, C = %d, %d threads on %s\n", rows, classes, threads, cpu_name().c_str());
  print_run_conditions();
  std::printf("  median %.1f us, least %.1f us of %d calls; %.2f ns per neighbour row\n", m * 1e6, least * 1e6, runs,
              m * 1e9 / rows);
}

}  // namespace

int main(int argc, char** argv) {
  const char* usage = "smoothness_classes [threads = 1] [rows = 4096] [classes = 10] [runs = 200]   (rows = B*K, a multiple of 8)";
  const std::vector<int> a = positive_args(argc, argv, {1, 4096, 10, 200}, usage);
  if (a.empty()) return 2;
  const int K = int(SmoothnessProblem::neighbours_per_anchor);
  if (a[1] % K != 0) {
    std::fprintf(stderr, "%s: rows must be a multiple of %d\nusage: %s\n", argv[0], K, usage);
    return 2;
  }
  try {
    time_loss(a[0], a[1], a[2], a[3]);
  } catch (const std::exception& e) {  // a size the random streams refuse, or memory the tensors cannot get
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    return 2;
  }
  return 0;
}
