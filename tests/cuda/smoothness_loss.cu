// cuda::smoothness_loss against the CPU reference (the same per-anchor function, run by
// one CPU thread per anchor): loss and gradients within 1e-5 relative, the same bits on
// every run, the same errors.
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "farbound/core/random.hpp"
#include "farbound/cuda/buffer.cuh"
#include "farbound/cuda/smoothness_loss.cuh"
#include "farbound/regularize/smoothness_loss.hpp"

using namespace farbound;
using cuda::to_device;
using cuda::to_host;

namespace {

// One batch on the host and on the device, laid out as one [B + B*K, C] logits tensor (the
// views are its two slices, as a training step passes them).
template <class T>
struct SmoothnessCase {
  std::int64_t B, K, C;
  Tensor<T> logits, r;
  std::vector<std::int32_t> labels;
  cuda::DeviceBuffer<T> d_logits, d_r, d_grad;
  cuda::DeviceBuffer<std::int32_t> d_labels;

  SmoothnessCase(std::int64_t b, std::int64_t k, std::int64_t c)
      : B(b), K(k), C(c), logits({b + b * k, c}), r({std::max<std::int64_t>(b * k, 0)}) {
    RandomStream(1, Purpose::user, std::uint32_t(k), std::uint32_t(c)).template normal<T>(logits.span(), 3.0);
    RandomStream(2, Purpose::user, std::uint32_t(k), std::uint32_t(c)).template uniform<T>(r.span());
    for (auto& v : r.span()) v += T(1e-3);
    for (std::int64_t i = 0; i < B; ++i) labels.push_back(i % 3 == 0 ? -1 : std::int32_t((7 * i) % c));
    d_logits = to_device<T>(logits.span());
    d_r = to_device<T>(r.span());
    d_labels = to_device<std::int32_t>(labels);
    d_grad.reserve(std::size_t(logits.numel()));
  }
  TensorView<const T> d_view(std::int64_t first, std::int64_t rows) const {
    return {d_logits.data() + first * C, Shape{rows, C}};
  }
  TensorView<T> d_grad_view(std::int64_t first, std::int64_t rows) const { return {d_grad.data() + first * C, Shape{rows, C}}; }
  SmoothnessLossValue<T> run_device(T lambda, cuda::SmoothnessWorkspace& ws) const {
    return cuda::smoothness_loss<T>(d_view(0, B), d_view(B, B * K), TensorView<const T>(d_r.data(), r.shape()),
                                    std::span<const std::int32_t>(d_labels.data(), labels.size()), lambda,
                                    d_grad_view(0, B), d_grad_view(B, B * K), ws);
  }
};

template <class T>
void check_device_matches_cpu(std::int64_t B, std::int64_t K, std::int64_t C) {
  INFO("B " << B << " K " << K << " C " << C);
  SmoothnessCase<T> c(B, K, C);
  const T lambda = 100;
  Tensor<T> grad({B + B * K, C});
  const auto cpu = farbound::detail::smoothness_loss_with<farbound::detail::ScalarBlocks, T>(
      c.logits.view().slice(0, B), c.logits.view().slice(B, B * K), c.r.view(), c.labels, lambda,
      grad.view().slice(0, B), grad.view().slice(B, B * K));
  cuda::SmoothnessWorkspace ws;
  const auto gpu = c.run_device(lambda, ws);
  const double tol = 1e-5;
  CHECK(gpu.total == Approx(cpu.total).epsilon(tol));
  CHECK(gpu.cross_entropy == Approx(cpu.cross_entropy).epsilon(tol));
  CHECK(gpu.smoothness == Approx(cpu.smoothness).epsilon(tol));
  const auto g = to_host(c.d_grad, std::size_t(grad.numel()));
  T scale = 0;
  for (auto v : grad.span()) scale = std::max(scale, std::abs(v));
  for (std::int64_t j = 0; j < grad.numel(); ++j) REQUIRE(std::abs(g[std::size_t(j)] - grad[j]) <= tol * scale);
}

}  // namespace

TEST_CASE("cuda::smoothness_loss equals the CPU reference", "[cuda][smoothness]") {
  for (auto [B, K, C] : {std::array<std::int64_t, 3>{37, 1, 10}, {37, 8, 10}, {5, 3, 1000}, {3, 0, 7}, {300, 2, 1}})
    check_device_matches_cpu<float>(B, K, C);
  check_device_matches_cpu<double>(37, 8, 10);
}

TEST_CASE("cuda::smoothness_loss gives the same bits on every call and reuses its workspace", "[cuda][smoothness]") {
  SmoothnessCase<float> c(1000, 4, 10);
  cuda::SmoothnessWorkspace ws;
  const auto first = c.run_device(10.0f, ws);
  const auto grad = to_host(c.d_grad, std::size_t(c.logits.numel()));
  const double* terms = ws.terms();
  const auto second = c.run_device(10.0f, ws);
  CHECK(ws.terms() == terms);  // no reallocation for the same batch
  CHECK(std::memcmp(&first, &second, sizeof(first)) == 0);
  CHECK(to_host(c.d_grad, grad.size()) == grad);
}

TEST_CASE("cuda::smoothness_loss rejects what the CPU rejects, with the same messages", "[cuda][smoothness]") {
  SmoothnessCase<float> c(6, 2, 5);
  cuda::SmoothnessWorkspace ws;
  const auto same_error = [&](auto&& mutate_host, auto&& restore_device) {
    // The CPU's message for the same data.
    Tensor<float> grad({c.B + c.B * c.K, c.C});
    std::string cpu_message;
    try {
      mutate_host();
      smoothness_loss<float>(c.logits.view().slice(0, c.B), c.logits.view().slice(c.B, c.B * c.K), c.r.view(), c.labels,
                             1.0f, grad.view().slice(0, c.B), grad.view().slice(c.B, c.B * c.K));
    } catch (const error& e) {
      cpu_message = e.what();
    }
    REQUIRE(!cpu_message.empty());
    c.d_r = to_device<float>(c.r.span());
    c.d_labels = to_device<std::int32_t>(c.labels);
    CHECK_THROWS_WITH(c.run_device(1.0f, ws), cpu_message);
    restore_device();
  };
  const auto labels = c.labels;
  const auto r = c.r.clone();
  const auto restore = [&] {
    c.labels = labels;
    c.r = r.clone();
  };
  same_error([&] { c.labels[4] = 5; }, restore);
  same_error([&] { c.labels[2] = -2; }, restore);
  same_error([&] { c.r[7] = 0; }, restore);
  same_error([&] { c.r[3] = std::numeric_limits<float>::quiet_NaN(); }, restore);
  c.d_r = to_device<float>(c.r.span());
  c.d_labels = to_device<std::int32_t>(c.labels);
  CHECK_THROWS_AS(c.run_device(-1.0f, ws), argument_error);
  CHECK_THROWS_AS(cuda::smoothness_loss<float>(c.d_view(0, c.B), c.d_view(c.B, c.B), TensorView<const float>(c.d_r.data(), c.r.shape()),
                                               std::span<const std::int32_t>(c.d_labels.data(), c.labels.size()), 1.0f,
                                               c.d_grad_view(0, c.B), c.d_grad_view(c.B, c.B), ws),
                  shape_error);
  // After the errors the next good call still works.
  CHECK(std::isfinite(c.run_device(1.0f, ws).total));
}
