#include "farbound/sampling/perturbation.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

using namespace farbound;

namespace {

struct Moments {
  double mean, stddev;
};

Moments moments(const std::vector<double>& v) {
  const double mean = std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return {mean, std::sqrt(ss / double(v.size()))};
}

// out - x for one draw of `p` on a point of n values.
template <class P>
std::vector<double> noise_of(const P& p, const RandomStream& s, std::size_t n, double base = 0.25) {
  std::vector<float> x(n, float(base)), out(n);
  p.apply(s, std::span<const float>(x), std::span<float>(out));
  std::vector<double> d(n);
  for (std::size_t i = 0; i < n; ++i) d[i] = double(out[i]) - double(x[i]);
  return d;
}

}  // namespace

TEST_CASE("The vectorised normal numbers are box_muller4's, bit for bit", "[perturbation]") {
  // The same numbers as the scalar transform (and the CUDA kernels that call it), for
  // counts that end inside a chunk, and for seeds and coordinates that set high bits.
  for (const RandomStream& s : {RandomStream(1, Purpose::neighbour, 0, 0, 0), RandomStream(0xFFFFFFFF12345678ull, Purpose::unlabelled, 7, 0xFFFFFFFFu, 3),
                                RandomStream(99, Purpose::user, 1, 2, 0x80000000u)})
    for (std::size_t n : {std::size_t(1), std::size_t(37), std::size_t(4096 + 5)}) {
      std::size_t seen = 0;
      detail::for_each_normal_chunk(s, n, [&](std::size_t first, const double* z, std::size_t count) {
        REQUIRE(first == seen);
        for (std::size_t j = 0; j < count; ++j) {
          const std::size_t i = first + j;
          REQUIRE(z[j] == box_muller4(s.block(i / 4))[i % 4]);
        }
        seen += count;
      });
      CHECK(seen == n);
    }
}

TEST_CASE("Gaussian noise has mean 0 and the requested standard deviation", "[perturbation]") {
  const GaussianNoise g(0.05);
  const auto d = noise_of(g, RandomStream(1, Purpose::unlabelled, 0, 3, 0), 200000);
  const auto m = moments(d);
  CHECK(m.mean == Approx(0.0).margin(0.05 * 0.01));
  CHECK(m.stddev == Approx(0.05).epsilon(0.01));
  // It is the stream's normal numbers times sigma, added to x (up to the last few bits:
  // the transform is vectorised), for every length.
  for (std::size_t n : {1, 5, 16, 37, 1024}) {
    std::vector<double> z(n), x(n, 0.5), out(n);
    RandomStream(1, Purpose::unlabelled, 0, 3, 0).normal(std::span<double>(z), 0.05);
    g.apply(RandomStream(1, Purpose::unlabelled, 0, 3, 0), std::span<const double>(x), std::span<double>(out));
    for (std::size_t i = 0; i < n; ++i) REQUIRE(out[i] - 0.5 == Approx(z[i]).epsilon(1e-12).margin(1e-15));
  }
  // Noise value i does not depend on the length of the point.
  const auto short_noise = noise_of(g, RandomStream(1, Purpose::user, 8), 37);
  const auto long_noise = noise_of(g, RandomStream(1, Purpose::user, 8), 1024);
  CHECK(std::equal(short_noise.begin(), short_noise.end(), long_noise.begin()));
  // Not clipped: pixels at 0 go negative.
  CHECK(*std::min_element(d.begin(), d.end()) < -0.1);
}

TEST_CASE("Ball noise is uniform in the L2 ball", "[perturbation]") {
  // In n dimensions ||noise|| / R has density n t^(n-1): mean n/(n+1), P(< 1/2) = 2^-n; each
  // coordinate has variance R^2 / (n + 2).
  const BallNoise ball(0.3);
  const std::size_t n = 3, draws = 40000;
  std::vector<double> radius, coordinate;
  for (std::uint32_t i = 0; i < draws; ++i) {
    const auto d = noise_of(ball, RandomStream(2, Purpose::user, i), n);
    double sq = 0;
    for (double v : d) sq += v * v;
    REQUIRE(std::sqrt(sq) <= 0.3 * (1 + 1e-6));
    radius.push_back(std::sqrt(sq) / 0.3);
    coordinate.push_back(d[0]);
  }
  CHECK(moments(radius).mean == Approx(0.75).margin(0.005));
  CHECK(double(std::count_if(radius.begin(), radius.end(), [](double t) { return t < 0.5; })) / draws ==
        Approx(0.125).margin(0.006));
  const auto c = moments(coordinate);
  CHECK(c.mean == Approx(0.0).margin(0.003));
  CHECK(c.stddev == Approx(0.3 / std::sqrt(5.0)).epsilon(0.01));
  // High dimension: almost all mass near the surface.
  const auto d = noise_of(ball, RandomStream(3, Purpose::user), 1024);
  double sq = 0;
  for (double v : d) sq += v * v;
  CHECK(std::sqrt(sq) <= 0.3 * (1 + 1e-6));
  CHECK(std::sqrt(sq) > 0.29);
}

TEST_CASE("Box noise is uniform in the box", "[perturbation]") {
  const BoxNoise box(0.1);
  const auto d = noise_of(box, RandomStream(4, Purpose::user), 200000);
  for (double v : d) REQUIRE(std::abs(v) <= 0.1 * (1 + 1e-6));
  const auto m = moments(d);
  CHECK(m.mean == Approx(0.0).margin(0.0005));
  CHECK(m.stddev == Approx(0.1 / std::sqrt(3.0)).epsilon(0.01));
}

TEST_CASE("Perturbations may write over their input", "[perturbation]") {
  const auto same_in_place = [](const auto& p) {
    std::vector<double> x(37), out(37), in_place(37);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = in_place[i] = 0.01 * double(i);
    const RandomStream s(5, Purpose::neighbour, 1, 2, 3);
    p.apply(s, std::span<const double>(x), std::span<double>(out));
    p.apply(s, std::span<const double>(in_place), std::span<double>(in_place));
    CHECK(out == in_place);
  };
  same_in_place(GaussianNoise(0.1));
  same_in_place(BallNoise(0.1));
  same_in_place(BoxNoise(0.1));
}

TEST_CASE("DrawFromPool replaces the point by a pool point", "[perturbation]") {
  Tensor<float> pool({5, 2, 3});
  for (std::int64_t i = 0; i < pool.numel(); ++i) pool[i] = float(i);
  const DrawFromPool<float> draw(pool.view());
  std::vector<int> counts(5, 0);
  std::vector<float> x(6, -1.0f), out(6);
  for (std::uint32_t key = 0; key < 5000; ++key) {
    draw.apply(RandomStream(6, Purpose::unlabelled, 0, key), std::span<const float>(x), std::span<float>(out));
    const int row = int(out[0]) / 6;
    for (int j = 0; j < 6; ++j) REQUIRE(out[std::size_t(j)] == float(row * 6 + j));
    ++counts[std::size_t(row)];
  }
  for (int c : counts) CHECK(c == Approx(1000).margin(100));
  CHECK_THROWS_AS(draw.check_item_numel(7), shape_error);
  CHECK_THROWS_AS(DrawFromPool<float>(pool.view().slice(0, 0)), shape_error);
  CHECK(draw.describe().find("[5, 2, 3]") != std::string::npos);
}

TEST_CASE("Negative or non-finite sizes are refused", "[perturbation][errors]") {
  CHECK_THROWS_AS(GaussianNoise(-0.1), argument_error);
  CHECK_THROWS_WITH(GaussianNoise(-0.1), Catch::Contains("sigma") && Catch::Contains("-0.1"));
  CHECK_THROWS_AS(GaussianNoise(std::numeric_limits<double>::quiet_NaN()), argument_error);
  CHECK_THROWS_AS(BallNoise(-1), argument_error);
  CHECK_THROWS_AS(BoxNoise(std::numeric_limits<double>::infinity()), argument_error);
  CHECK_NOTHROW(GaussianNoise(0));
  std::vector<float> x(5), out(4);
  CHECK_THROWS_AS(GaussianNoise(1).apply(RandomStream(1, Purpose::user), std::span<const float>(x), std::span<float>(out)),
                  shape_error);
}
