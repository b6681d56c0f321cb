// A 256 x 256 slice of LeNet through one 32x32 image (metrics/image_plane.hpp): 65 536
// forward passes in batches. Target (issue 16): under a second on 2 threads. Prints the
// median wall time over the runs, the images per second, LeNet's forward FLOP rate (0.833
// MFLOP per image) and the CPU time, for each batch size given.
//
// Usage: image_slice [threads 2] [runs 5] [side 256] [batch ...]   (batches default: 256 512 1024)
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "farbound/core/parallel.hpp"
#include "farbound/metrics/image_plane.hpp"
#include "farbound/nn/zoo.hpp"
#include "support/driver.hpp"

int main(int argc, char** argv) {
  using namespace farbound;
  const std::vector<int> a = bench::positive_args(argc, argv, {2, 5, 256}, "image_slice [threads] [runs] [side] [batch ...]");
  if (a.empty()) return 2;
  std::vector<std::int64_t> batches;
  for (int i = 4; i < argc; ++i) batches.push_back(std::atoll(argv[i]));
  if (batches.empty()) batches = {256, 512, 1024};
  set_threads(a[0]);

  auto net = lenet<float>({.arch = "lenet", .activation = "relu", .mean = {0.2860}, .stddev = {0.3530}});
  net.reset_parameters(1);
  const Shape item{1, 1, 32, 32};
  Tensor<float> x0 = random_direction<float>(item, 7, 0);
  for (float& v : x0.span()) v = std::clamp(0.5f + 0.2f * v, 0.0f, 1.0f);
  const Tensor<float> d1 = random_direction<float>(item, 7, 1), d2 = random_direction<float>(item, 7, 2);
  const ImagePlane<float> plane = make_image_plane<float>(x0.view(), d1.view(), d2.view(), Bounds{});

  const double images = double(a[2]) * a[2];
  std::printf("image_slice: %d x %d LeNet slice, %d thread(s), %s\n", a[2], a[2], a[0], bench::cpu_name().c_str());
  bench::print_run_conditions();
  for (std::int64_t batch : batches) {
    if (batch < 1) return 2;
    image_slice(net, plane, 3.0, a[2], batch);  // warm-up: first-call allocations
    std::vector<double> wall, cpu;
    for (int r = 0; r < a[1]; ++r) {
      const auto t0 = bench::Instant::now();
      const ImageSlice s = image_slice(net, plane, 3.0, a[2], batch);
      const auto e = bench::since(t0);
      wall.push_back(e.wall);
      cpu.push_back(e.cpu);
      if (s.classes.empty()) return 1;
    }
    const double w = bench::median(wall);
    std::printf("  batch %5lld: median %.3f s wall (%.3f s CPU), %.0f images/s, %.1f GFLOP/s\n", (long long)batch, w,
                bench::median(cpu), images / w, images * 0.833e-3 / w);
  }
}
