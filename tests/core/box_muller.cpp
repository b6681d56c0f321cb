#include "farbound/core/box_muller.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <numbers>

using namespace farbound;

namespace {

// The exact transform of (w_r, w_t) in long double, the reference for box_muller4.
std::array<long double, 2> exact_box_muller(std::uint32_t w_r, std::uint32_t w_t) {
  const long double u = (static_cast<long double>(w_r) + 0.5L) * 0x1p-32L;
  const long double t = 2 * std::numbers::pi_v<long double> * static_cast<long double>(w_t) * 0x1p-32L;
  const long double r = std::sqrt(-2 * std::log(u));
  return {r * std::cos(t), r * std::sin(t)};
}

}  // namespace

TEST_CASE("box_muller4 is the Box-Muller transform to a few units in the last place", "[random]") {
  // Random words, plus the edges of the reduction: u at both ends, every quadrant and
  // octant boundary of t.
  std::vector<PhiloxCounter> blocks;
  const RandomStream s(5, Purpose::user);
  for (std::uint64_t b = 0; b < 20000; ++b) blocks.push_back(s.block(b));
  for (std::uint32_t w : {0u, 1u, 0x1FFFFFFFu, 0x20000000u, 0x20000001u, 0x3FFFFFFFu, 0x40000000u, 0x80000000u,
                          0xC0000000u, 0xFFFFFFFFu})
    blocks.push_back({w, w, 0xFFFFFFFFu - w, w});
  for (const auto& w : blocks) {
    const auto z = box_muller4(w);
    for (int h = 0; h < 2; ++h) {
      const auto exact = exact_box_muller(w[2 * h], w[2 * h + 1]);
      const long double radius = std::hypot(exact[0], exact[1]);
      for (int j = 0; j < 2; ++j) REQUIRE(std::abs(z[2 * h + j] - exact[j]) <= 4e-16L * std::max(radius, 1.0L));
    }
  }
  // And the same numbers as RandomStream::normal4 (libm) up to rounding.
  for (std::uint64_t b = 0; b < 100; ++b)
    for (int j = 0; j < 4; ++j) CHECK(box_muller4(s.block(b))[j] == Approx(s.normal4(b)[j]).epsilon(1e-13).margin(1e-14));
}
