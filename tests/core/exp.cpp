#include "farbound/core/exp.hpp"

#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

namespace {

// The values whose exp (exp_nonpositive or exp_full_range) and xsimd::exp differ in any
// bit, batch by batch.
template <class T, class Exp>
std::vector<T> exp_mismatches(const std::vector<T>& xs, Exp exp) {
  using B = xsimd::batch<T>;
  std::vector<T> padded = xs, bad;
  padded.resize((xs.size() + B::size - 1) / B::size * B::size, T(0));
  for (std::size_t i = 0; i < padded.size(); i += B::size) {
    alignas(64) T ours[B::size], theirs[B::size];
    const B x = B::load_unaligned(padded.data() + i);
    exp(x).store_aligned(ours);
    xsimd::exp(x).store_aligned(theirs);
    for (std::size_t l = 0; l < B::size; ++l)
      if (std::memcmp(ours + l, theirs + l, sizeof(T)) != 0) bad.push_back(padded[i + l]);
  }
  return bad;
}

// CHECKs that exp gives xsimd::exp's bits at every value of xs, naming the first that differs.
template <class T, class Exp>
void check_xsimd_bits(const std::vector<T>& xs, Exp exp) {
  const std::vector<T> bad = exp_mismatches(xs, exp);
  INFO(bad.size() << " mismatches, the first at x = " << (bad.empty() ? T(0) : bad.front()));
  CHECK(bad.empty());
}

// Every float from `from` up to `to`, both included.
std::vector<float> floats_between(float from, float to) {
  std::vector<float> xs;
  for (float x = from; x <= to; x = std::nextafter(x, to + 1.0f)) xs.push_back(x);
  return xs;
}

constexpr auto nonpositive = [](auto x) { return farbound::simd::exp_nonpositive(x); };
constexpr auto full_range = [](auto x) { return farbound::simd::exp_full_range(x); };

}  // namespace

TEST_CASE("exp_nonpositive gives xsimd::exp's bits for non-positive floats", "[simd]") {
  // Every 61st sign-bit pattern: -0 to -inf and the negative NaNs; every float from -90 to
  // -86, where the result leaves the normal range; and the positive NaNs.
  std::vector<float> xs = floats_between(-90.0f, -86.0f);
  for (std::uint64_t bits = 0x80000000u; bits <= 0xFFFFFFFFu; bits += 61) xs.push_back(std::bit_cast<float>(std::uint32_t(bits)));
  for (float x : {0.0f, -0.0f, -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(),
                  -std::numeric_limits<float>::denorm_min(), -std::numeric_limits<float>::min()})
    xs.push_back(x);
  check_xsimd_bits(xs, nonpositive);
}

TEST_CASE("exp_full_range gives xsimd::exp's bits for every float", "[simd]") {
  // Every 61st bit pattern of either sign; every float from -90 to -86 and from 86 to 90,
  // where the result leaves the normal range or overflows.
  std::vector<float> xs = floats_between(-90.0f, -86.0f), high = floats_between(86.0f, 90.0f);
  xs.insert(xs.end(), high.begin(), high.end());
  for (std::uint64_t bits = 0; bits <= 0xFFFFFFFFu; bits += 61) xs.push_back(std::bit_cast<float>(std::uint32_t(bits)));
  const float inf = std::numeric_limits<float>::infinity();
  for (float x : {0.0f, -0.0f, inf, -inf, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::max()})
    xs.push_back(x);
  check_xsimd_bits(xs, full_range);
}

TEST_CASE("Both exponentials are xsimd::exp for doubles", "[simd]") {
  std::vector<double> xs;
  for (int i = -1000; i <= 1000; ++i) xs.push_back(0.75 * i);
  xs.push_back(std::numeric_limits<double>::infinity());
  xs.push_back(-std::numeric_limits<double>::infinity());
  check_xsimd_bits(xs, full_range);
  xs.resize(1001);  // -750 to 0
  check_xsimd_bits(xs, nonpositive);
}

namespace {

// How many representable floats lie between a and b (0 for two NaNs).
std::int64_t ulps_apart(float a, float b) {
  if (std::isnan(a) && std::isnan(b)) return 0;
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<std::int64_t>::max();
  // Bit patterns mapped to one line that orders the floats, -0 and +0 next to each other.
  const auto line = [](float x) {
    const auto bits = std::int64_t(std::bit_cast<std::int32_t>(x));
    return bits < 0 ? std::int64_t(std::numeric_limits<std::int32_t>::min()) - bits : bits;
  };
  return std::abs(line(a) - line(b));
}

}  // namespace

TEST_CASE("expm1_nonpositive is within 2 ulp of e^x - 1 for non-positive floats", "[simd]") {
  using B = xsimd::batch<float>;
  // How far the results over xs are from the correctly rounded ones: the worst, where, and
  // how many are off at all.
  struct Errors {
    std::int64_t worst = 0, inexact = 0;
    float worst_at = 0;
  };
  const auto measure = [](std::vector<float> xs) {
    xs.resize((xs.size() + B::size - 1) / B::size * B::size, -1.0f);
    Errors e;
    for (std::size_t i = 0; i < xs.size(); i += B::size) {
      alignas(64) float ours[B::size];
      farbound::simd::expm1_nonpositive(B::load_unaligned(xs.data() + i)).store_aligned(ours);
      for (std::size_t l = 0; l < B::size; ++l) {
        const std::int64_t off = ulps_apart(ours[l], float(std::expm1(double(xs[i + l]))));
        e.inexact += off > 0;
        if (off > e.worst) e.worst = off, e.worst_at = xs[i + l];
      }
    }
    return e;
  };
  // Every 61st sign-bit pattern: -0 to -inf and the negative NaNs.
  std::vector<float> sample;
  for (std::uint64_t bits = 0x80000000u; bits <= 0xFFFFFFFFu; bits += 61) sample.push_back(std::bit_cast<float>(std::uint32_t(bits)));
  const Errors all = measure(sample);
  INFO("sample: worst " << all.worst << " ulp at x = " << all.worst_at << ", " << all.inexact << " of " << sample.size()
                        << " inexact");
  CHECK(all.worst <= 2);
  CHECK(double(all.inexact) < 0.01 * double(sample.size()));
  // Every float where k goes from 0 to -1, where the result becomes -1, where the input is
  // clamped; and the edge cases.
  for (const auto& [from, to] : {std::pair{-0.36f, -0.33f}, std::pair{-17.0f, -15.0f}, std::pair{-105.0f, -103.0f}}) {
    const Errors e = measure(floats_between(from, to));
    INFO("from " << from << " to " << to << ": worst " << e.worst << " ulp at x = " << e.worst_at);
    CHECK(e.worst <= 2);
  }
  const float inf = std::numeric_limits<float>::infinity();
  const Errors edges = measure({0.0f, -0.0f, -inf, std::numeric_limits<float>::quiet_NaN(),
                                -std::numeric_limits<float>::denorm_min(), -std::numeric_limits<float>::min(), -1e-7f});
  INFO("edge cases: worst " << edges.worst << " ulp at x = " << edges.worst_at);
  CHECK(edges.worst == 0);
}
