#include "farbound/core/simd.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "farbound/core/random.hpp"

using namespace farbound;

// Sizes around the SIMD width (16 floats, 8 doubles with AVX-512) exercise the scalar tails.
TEMPLATE_TEST_CASE("SIMD helpers agree with plain loops", "[simd]", float, double) {
  using T = TestType;
  for (std::size_t n : {0, 1, 3, 7, 8, 15, 16, 17, 31, 33, 100}) {
    std::vector<T> x(n), y(n), y0;
    RandomStream(5, Purpose::user, 0, unsigned(n)).uniform(std::span<T>(x));
    RandomStream(5, Purpose::user, 1, unsigned(n)).uniform(std::span<T>(y));
    y0 = y;
    double dot = 0, sum = 0;
    T mx = -INFINITY;
    for (std::size_t i = 0; i < n; ++i) {
      dot += double(x[i]) * y[i];
      sum += x[i];
      mx = std::max(mx, x[i]);
    }
    const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-13;
    CHECK(simd::dot(x.data(), y.data(), n) == Approx(dot).epsilon(tol).margin(tol));
    CHECK(simd::sum(x.data(), n) == Approx(sum).epsilon(tol).margin(tol));
    CHECK(simd::max(x.data(), n) == mx);

    simd::axpy(T(2), x.data(), y.data(), n);
    for (std::size_t i = 0; i < n; ++i) CHECK(y[i] == Approx(y0[i] + 2 * x[i]).epsilon(tol));

    std::vector<T> e(n);
    const T total = simd::exp_shifted(x.data(), T(0.5), e.data(), n);
    double expected_total = 0;
    for (std::size_t i = 0; i < n; ++i) {
      CHECK(e[i] == Approx(std::exp(double(x[i]) - 0.5)).epsilon(tol));
      expected_total += std::exp(double(x[i]) - 0.5);
    }
    CHECK(total == Approx(expected_total).epsilon(tol).margin(tol));

    const std::vector<T> x0 = x;
    simd::scale(T(3), x.data(), n);
    for (std::size_t i = 0; i < n; ++i) CHECK(x[i] == 3 * x0[i]);
  }
}

// The fused multiply-adds round once: on scalars always (std::fma), and on batches where the
// target has FMA instructions, lane by lane the bits of std::fma (fused_negated_multiply_add:
// of std::fma(-a, b, c)), including products that cancel against c, where an unfused a * b + c
// would lose every digit. (The baseline build, SSE2, has none: there xsimd's generic forms
// round twice.)
TEMPLATE_TEST_CASE("Fused multiply-adds round once, on batches and scalars", "[simd]", float, double) {
  using T = TestType;
  constexpr std::size_t W = simd::width<T>;
  std::vector<T> a(W), b(W), c(W);
  RandomStream(5, Purpose::user, 2, 0).uniform(std::span<T>(a));
  RandomStream(5, Purpose::user, 3, 0).uniform(std::span<T>(b));
  for (std::size_t l = 0; l < W; ++l) c[l] = l % 2 ? -a[l] * b[l] : a[l] * b[l];  // the product, rounded
  std::vector<T> sum(W), difference(W);
  simd::fused_multiply_add(simd::batch<T>::load_unaligned(a.data()), simd::batch<T>::load_unaligned(b.data()),
                           simd::batch<T>::load_unaligned(c.data()))
      .store_unaligned(sum.data());
  simd::fused_negated_multiply_add(simd::batch<T>::load_unaligned(a.data()), simd::batch<T>::load_unaligned(b.data()),
                                   simd::batch<T>::load_unaligned(c.data()))
      .store_unaligned(difference.data());
  for (std::size_t l = 0; l < W; ++l) {
    INFO("lane " << l);
    CHECK(simd::fused_multiply_add(a[l], b[l], c[l]) == std::fma(a[l], b[l], c[l]));
    CHECK(simd::fused_negated_multiply_add(a[l], b[l], c[l]) == std::fma(-a[l], b[l], c[l]));
#if defined(__FMA__)
    CHECK(sum[l] == std::fma(a[l], b[l], c[l]));
    CHECK(difference[l] == std::fma(-a[l], b[l], c[l]));
#else
    CHECK(std::abs(sum[l] - std::fma(a[l], b[l], c[l])) <= std::numeric_limits<T>::epsilon() * std::abs(a[l] * b[l]));
    CHECK(std::abs(difference[l] - std::fma(-a[l], b[l], c[l])) <= std::numeric_limits<T>::epsilon() * std::abs(a[l] * b[l]));
#endif
  }
}
