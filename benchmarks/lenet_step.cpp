// LeNet forward + backward: how fast, next to what the same cores do on a large GEMM.
//
// The paper's MNIST model (conv 1->6 k5, sigmoid, max-pool 2, conv 6->16 k5, sigmoid,
// max-pool 2, dense 400-120-84-10 with sigmoids) on a [64, 1, 32, 32] float batch. One step
// is zeroing the gradients, the forward pass and the backward pass from a fixed dL/dlogits
// (the loss itself is ~1 us and not what is measured); the input gradient of the first
// layer is skipped, as in training.
//
// Reported:
//   - step time and the FLOP rate of the matrix work: conv and dense layers, 2 flops per
//     multiply-add, counted from the layer shapes (forward, weight gradient, input gradient
//     where computed). Sigmoid, pooling and data movement are not counted.
//   - Eigen's sgemm 1024^3 on the same threads, timed in the same runs: every run times a
//     batch of LeNet steps, then one sgemm, so both see the same machine. The ratio of the
//     two rates is the headline number (median over runs).
//   - each rate twice: per wall-clock second, and per CPU second of the process times the
//     thread count. On a machine shared with other work the wall clock also counts the time
//     our threads wait for a core; CPU time counts only the time they run (spin-waiting
//     included), i.e. the rate on cores of our own. With tick-based CPU accounting the other
//     threads' time is counted late (support/driver.hpp): run with OMP_WAIT_POLICY=passive
//     for that column, or read the wall-clock one.
//   - heap allocations: global operator new/delete are replaced in this file (every form,
//     aligned ones included) and count calls; every step after the first must allocate 0.
//   - where the time goes: each layer's forward and backward alone, fastest of the runs.
//
// Usage: lenet_step [threads = 2] [runs = 9] [steps per run = 20]
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <omp.h>

#include "farbound/core/parallel.hpp"
#include "farbound/nn/activation.hpp"
#include "farbound/nn/conv2d.hpp"
#include "farbound/nn/dense.hpp"
#include "farbound/nn/flatten.hpp"
#include "farbound/nn/pool.hpp"
#include "farbound/nn/sequential.hpp"
#include "support/driver.hpp"

// ---- Allocation counting: every global allocation function funnels through counted_alloc.
// GCC cannot see that the replaced operator new below is malloc-based and warns about free
// (and, depending on what it inlines, about freeing a pointer it cannot trace to malloc).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"
namespace {
std::atomic<long> allocations{0};

void* counted_alloc(std::size_t size, std::size_t alignment) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (size == 0) size = 1;
  void* p = nullptr;
  if (alignment <= alignof(std::max_align_t)) p = std::malloc(size);
  else if (posix_memalign(&p, alignment, size) != 0) p = nullptr;
  return p;
}
}  // namespace

void* operator new(std::size_t n) {
  if (void* p = counted_alloc(n, 0)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, std::align_val_t a) {
  if (void* p = counted_alloc(n, std::size_t(a))) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) { return operator new(n, a); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n, 0); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n, 0); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_alloc(n, std::size_t(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_alloc(n, std::size_t(a));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

namespace {
using namespace farbound;
using namespace farbound::bench;

Sequential<float> lenet() {
  Sequential<float> net;
  net.add<Conv2d<float>>(1, 6, 5);
  net.add<Sigmoid<float>>();
  net.add<MaxPool2d<float>>(2);
  net.add<Conv2d<float>>(6, 16, 5);
  net.add<Sigmoid<float>>();
  net.add<MaxPool2d<float>>(2);
  net.add<Flatten<float>>();
  net.add<Dense<float>>(400, 120);
  net.add<Sigmoid<float>>();
  net.add<Dense<float>>(120, 84);
  net.add<Sigmoid<float>>();
  net.add<Dense<float>>(84, 10);
  return net;
}

// Flops of one step: 2 per multiply-add of every product in the conv and dense layers.
double step_flops(Sequential<float>& net, Shape input) {
  double flops = 0;
  Shape s = input;
  for (std::size_t i = 0; i < net.size(); ++i) {
    const Shape out = net.layer(i).output_shape(s);
    double macs = 0;  // of one product (forward; the two gradients have the same count)
    if (auto* conv = dynamic_cast<Conv2d<float>*>(&net.layer(i))) {
      const double k = double(conv->window().kernel);
      macs = double(out[0]) * out[1] * out[2] * out[3] * conv->in_channels() * k * k;
    } else if (auto* dense = dynamic_cast<Dense<float>*>(&net.layer(i))) {
      macs = double(out[0]) * dense->in_features() * dense->out_features();
    }
    const int products = i == 0 ? 2 : 3;  // forward, weight gradient, input gradient (not for layer 0)
    flops += 2.0 * macs * products;
    s = out;
  }
  return flops;
}

// Eigen's C = A B for n x n float matrices (Eigen threads it with OpenMP).
struct EigenSgemm {
  using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic>;
  Matrix a, b, c;
  explicit EigenSgemm(int n) : a(Matrix::Random(n, n)), b(Matrix::Random(n, n)), c(n, n) { run(); }
  double flops() const { return 2.0 * double(a.rows()) * double(a.rows()) * double(a.rows()); }
  void run() { c.noalias() = a * b; }
};
}  // namespace

int main(int argc, char** argv) {
  const std::vector<int> args = positive_args(argc, argv, {2, 9, 20}, "lenet_step [threads] [runs] [steps per run]");
  if (args.empty()) return 2;
  const int threads = args[0], runs = args[1], steps = args[2];
  set_threads(threads);
  std::printf("LeNet forward+backward, batch 64, float, %d threads on %s (%d cores online)\n", threads, cpu_name().c_str(),
              omp_get_num_procs());
  print_run_conditions();

  const Shape input_shape{64, 1, 32, 32};
  Sequential<float> net = lenet();
  net.reset_parameters(27432);
  FixedBatchStep step(net, input_shape, 10);

  const long before_first = allocations.load();
  step();
  const long first_step_allocations = allocations.load() - before_first;

  EigenSgemm sgemm(1024);
  const double flops = step_flops(net, input_shape);
  // Per run: LeNet wall and CPU GFLOP/s, sgemm wall and CPU GFLOP/s, step ms.
  std::vector<double> lenet_wall, lenet_cpu, sgemm_wall, sgemm_cpu, ratio_wall, ratio_cpu, step_ms;
  for (auto* v : {&lenet_wall, &lenet_cpu, &sgemm_wall, &sgemm_cpu, &ratio_wall, &ratio_cpu, &step_ms})
    v->reserve(std::size_t(runs));  // the driver itself must not allocate while counting
  long steady_allocations = 0;
  for (int r = 0; r < runs; ++r) {
    const long before = allocations.load();
    const Instant t0 = Instant::now();
    for (int s = 0; s < steps; ++s) step();
    const Elapsed e = since(t0);
    steady_allocations += allocations.load() - before;
    const Instant t1 = Instant::now();
    sgemm.run();
    const Elapsed f = since(t1);
    step_ms.push_back(e.wall * 1e3 / steps);
    lenet_wall.push_back(flops * steps / e.wall / 1e9);
    lenet_cpu.push_back(flops * steps / (e.cpu / threads) / 1e9);
    sgemm_wall.push_back(sgemm.flops() / f.wall / 1e9);
    sgemm_cpu.push_back(sgemm.flops() / (f.cpu / threads) / 1e9);
    ratio_wall.push_back(lenet_wall.back() / sgemm_wall.back());
    ratio_cpu.push_back(lenet_cpu.back() / sgemm_cpu.back());
  }

  std::printf("  step: median %.3f ms (min %.3f, max %.3f) over %d runs of %d steps\n", median(step_ms),
              *std::min_element(step_ms.begin(), step_ms.end()), *std::max_element(step_ms.begin(), step_ms.end()),
              runs, steps);
  std::printf("  heap allocations: %ld in the first step, %ld in the %d steps after it\n", first_step_allocations,
              steady_allocations, runs * steps);
  std::printf("  matrix work: %.1f MFLOP per step\n", flops / 1e6);
  std::printf("  GFLOP/s (medians)        per wall second   per CPU second x %d\n", threads);
  std::printf("    LeNet fwd+bwd          %10.2f        %10.2f\n", median(lenet_wall), median(lenet_cpu));
  std::printf("    Eigen sgemm 1024^3     %10.2f        %10.2f\n", median(sgemm_wall), median(sgemm_cpu));
  std::printf("    LeNet / sgemm          %9.1f%%        %9.1f%%\n", 100 * median(ratio_wall), 100 * median(ratio_cpu));
  std::printf("  (checksum %.4f)\n", double(sgemm.c(7, 3)));
  print_layer_times(net, step.x, step.g, runs);
  return steady_allocations == 0 ? 0 : 1;
}
