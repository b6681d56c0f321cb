// The CUDA smoothness loss against the CPU one. Without a CUDA device (CI) the program
// prints "skipped: no CUDA device" and exits with 77, which ctest reports as skipped.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>

#include "farbound/core/random.hpp"
#include "farbound/cuda/smoothness_loss.cuh"
#include "farbound/regularize/smoothness_loss.hpp"

using namespace farbound;

TEMPLATE_TEST_CASE("CUDA smoothness loss equals the CPU one", "[cuda]", float, double) {
  using T = TestType;
  const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-12;
  for (std::int64_t k : {1, 2, 8}) {
    const std::int64_t b = 37, c = 10;
    Tensor<T> z({b, c}), zn({b * k, c}), r({b * k});
    RandomStream(1, Purpose::user, 0, std::uint32_t(k)).template normal<T>(z.span(), 3.0);
    RandomStream(1, Purpose::user, 1, std::uint32_t(k)).template normal<T>(zn.span(), 3.0);
    RandomStream(1, Purpose::user, 2, std::uint32_t(k)).template uniform<T>(r.span());
    for (auto& v : r.span()) v = T(1e-3) + v;
    std::vector<std::int32_t> labels;
    for (std::int64_t i = 0; i < b; ++i) labels.push_back(i % 3 == 0 ? -1 : std::int32_t(i % c));
    Tensor<T> ga, gn, ga_gpu, gn_gpu;
    const auto cpu = smoothness_loss<T>(z.view(), zn.view(), r.view(), labels, T(100), ga, gn);
    const auto gpu = cuda::smoothness_loss_device<T>(z.view(), zn.view(), r.view(), labels, T(100), ga_gpu, gn_gpu);
    CHECK(gpu.total == Approx(cpu.total).epsilon(tol));
    CHECK(gpu.smoothness == Approx(cpu.smoothness).epsilon(tol));
    T scale = 0;
    for (auto v : ga.span()) scale = std::max(scale, std::abs(v));
    for (std::int64_t i = 0; i < ga.numel(); ++i) CHECK(std::abs(ga_gpu[i] - ga[i]) <= tol * scale);
    for (std::int64_t i = 0; i < gn.numel(); ++i) CHECK(std::abs(gn_gpu[i] - gn[i]) <= tol * scale);
  }
}

int main(int argc, char** argv) {
  if (cuda::device_count() == 0) {
    std::printf("skipped: no CUDA device\n");
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
