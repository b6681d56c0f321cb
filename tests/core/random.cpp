#include "farbound/core/random.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

using namespace farbound;

// Known-answer vectors for Philox4x32-10 from Random123's kat_vectors.
TEST_CASE("Philox4x32-10 matches the Random123 known-answer vectors", "[random]") {
  CHECK(philox4x32_10({0, 0, 0, 0}, {0, 0}) == PhiloxCounter{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
  CHECK(philox4x32_10({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu}) ==
        PhiloxCounter{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu});
  CHECK(philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u}) ==
        PhiloxCounter{0xd16cfe09u, 0x94fdcceBu, 0x5001e420u, 0x24126ea1u});
}

TEST_CASE("Streams are addressable: any slice equals the same slice of the whole", "[random]") {
  RandomStream s(42, Purpose::neighbour, 3, 7, 1);
  std::vector<double> all(103), again(103);
  s.normal(std::span<double>(all));
  s.normal(std::span<double>(again));
  CHECK(all == again);
  // Block b holds elements 4b..4b+3.
  auto z = s.normal4(5);
  CHECK(z[0] == all[20]);
  CHECK(z[3] == all[23]);
  // Another coordinate, purpose or seed gives other numbers.
  std::vector<double> other(103);
  RandomStream(42, Purpose::neighbour, 3, 7, 2).normal(std::span<double>(other));
  CHECK(other != all);
  RandomStream(42, Purpose::unlabelled, 3, 7, 1).normal(std::span<double>(other));
  CHECK(other != all);
  RandomStream(43, Purpose::neighbour, 3, 7, 1).normal(std::span<double>(other));
  CHECK(other != all);
}

TEST_CASE("Float and double streams agree up to rounding", "[random]") {
  std::vector<float> f(64);
  std::vector<double> d(64);
  RandomStream(7, Purpose::user).normal(std::span<float>(f), 0.5);
  RandomStream(7, Purpose::user).normal(std::span<double>(d), 0.5);
  for (int i = 0; i < 64; ++i) CHECK(f[i] == float(d[i]));
}

TEST_CASE("Uniform and normal moments", "[random]") {
  const int n = 200000;
  std::vector<double> u(n), z(n);
  RandomStream(1, Purpose::user).uniform(std::span<double>(u));
  RandomStream(1, Purpose::user, 1).normal(std::span<double>(z));
  double su = 0, sz = 0, szz = 0;
  for (int i = 0; i < n; ++i) {
    REQUIRE(u[i] >= 0.0);
    REQUIRE(u[i] < 1.0);
    su += u[i];
    sz += z[i];
    szz += z[i] * z[i];
  }
  CHECK(su / n == Approx(0.5).margin(0.005));
  CHECK(sz / n == Approx(0.0).margin(0.01));
  CHECK(szz / n == Approx(1.0).margin(0.01));
  RandomStream s(3, Purpose::user);
  for (std::uint64_t i = 0; i < 1000; ++i) REQUIRE(s.below(i, 10) < 10u);
}

TEST_CASE("A stream refuses more numbers than it holds", "[random][errors]") {
  std::vector<float> big((std::size_t(1) << 26) + 4);
  CHECK_THROWS_AS(RandomStream(1, Purpose::user).uniform(std::span<float>(big)), argument_error);
}
