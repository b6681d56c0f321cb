// The fused smoothness loss (regularize/smoothness_loss.hpp) at any number of classes: the
// micro-benchmark covers C in {10, 50, 100, 1000}; this driver takes B*K and C from the
// command line, to find where one kernel gives way to another (docs/performance.md). K = 8
// neighbours per anchor, logits standard normal, r uniform in [0.5, 1.5), every anchor
// labelled; prints the median and the least of `runs` calls, wall clock, and ns per
// neighbour row.
//
// Usage: smoothness_classes THREADS ROWS CLASSES [runs = 200]   (ROWS = B*K, a multiple of 8)
//   e.g. smoothness_classes 1 4096 20
#include <algorithm>
#include <cstdint>
#include <exception>
#include <cstdio>
#include <vector>

#include "farbound/core/parallel.hpp"
#include "farbound/core/random.hpp"
#include "farbound/regularize/smoothness_loss.hpp"
#include "support/driver.hpp"

namespace {
using namespace farbound;
using namespace farbound::bench;

constexpr int neighbours_per_anchor = 8;

void time_loss(int threads, int rows, int classes, int runs) {
  set_threads(threads);
  const std::int64_t B = rows / neighbours_per_anchor, C = classes;
  Tensor<float> anchors({B, C}), neighbours({rows, C}), r({rows}), anchor_grad({B, C}), neighbour_grad({rows, C});
  // Runs of 2^20 numbers: one random stream holds at most 2^26.
  const auto fill = [](Tensor<float>& t, std::uint32_t salt) {
    constexpr std::int64_t run = std::int64_t(1) << 20;
    for (std::int64_t begin = 0; begin < t.numel(); begin += run)
      RandomStream(1, Purpose::user, salt, std::uint32_t(begin / run))
          .normal(t.span().subspan(std::size_t(begin), std::size_t(std::min(run, t.numel() - begin))));
  };
  fill(anchors, 0);
  fill(neighbours, 1);
  RandomStream(1, Purpose::user, 2).uniform(r.span());
  for (float& v : r.span()) v += 0.5f;
  anchor_grad.zero();  // touched before timing, as the micro-benchmark does
  neighbour_grad.zero();
  std::vector<std::int32_t> labels(static_cast<std::size_t>(B));
  for (std::int64_t i = 0; i < B; ++i) labels[std::size_t(i)] = std::int32_t(i % C);

  std::vector<double> seconds;
  for (int run = 0; run < runs; ++run) {
    const Instant t0 = Instant::now();
    smoothness_loss<float>(anchors.view(), neighbours.view(), r.view(), labels, 1.0f, anchor_grad.view(),
                           neighbour_grad.view());
    seconds.push_back(since(t0).wall);
  }
  const double m = median(seconds), least = *std::min_element(seconds.begin(), seconds.end());
  std::printf("smoothness loss, B*K = %d, C = %d, %d threads on %s\n", rows, classes, threads, cpu_name().c_str());
  print_run_conditions();
  std::printf("  median %.1f us, least %.1f us of %d calls; %.2f ns per neighbour row\n", m * 1e6, least * 1e6, runs,
              m * 1e9 / rows);
}

}  // namespace

int main(int argc, char** argv) {
  const char* usage = "smoothness_classes THREADS ROWS CLASSES [runs = 200]   (ROWS = B*K, a multiple of 8)";
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s\n", usage);
    return 2;
  }
  const std::vector<int> a = positive_args(argc, argv, {1, 4096, 10, 200}, usage);
  if (a.empty()) return 2;
  if (a[1] % neighbours_per_anchor != 0) {
    std::fprintf(stderr, "%s: ROWS must be a multiple of %d\nusage: %s\n", argv[0], neighbours_per_anchor, usage);
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
