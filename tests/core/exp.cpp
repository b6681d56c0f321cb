#include "farbound/core/exp.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

namespace {

// xs with `fill` appended up to a whole number of SIMD batches.
template <class T>
void pad_to_batches(std::vector<T>& xs, T fill) {
  const std::size_t width = xsimd::batch<T>::size;
  xs.resize((xs.size() + width - 1) / width * width, fill);
}

// The values whose exp (exp_nonpositive or exp_full_range) and xsimd::exp differ in any
// bit, batch by batch.
template <class T, class Exp>
std::vector<T> exp_mismatches(const std::vector<T>& xs, Exp exp) {
  using B = xsimd::batch<T>;
  std::vector<T> padded = xs, bad;
  pad_to_batches(padded, T(0));
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

// Every 61st sign-bit pattern: -0 to -inf and the negative NaNs; every float from -90 to -86,
// where e^x leaves the normal range; zeros, a positive NaN and the smallest in magnitude.
std::vector<float> sample_of_nonpositive_floats() {
  std::vector<float> xs = floats_between(-90.0f, -86.0f);
  for (std::uint64_t bits = 0x80000000u; bits <= 0xFFFFFFFFu; bits += 61) xs.push_back(std::bit_cast<float>(std::uint32_t(bits)));
  for (float x : {0.0f, -0.0f, -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(),
                  -std::numeric_limits<float>::denorm_min(), -std::numeric_limits<float>::min()})
    xs.push_back(x);
  return xs;
}

// Every 61st bit pattern of either sign; every float from -90 to -86 and from 86 to 90, where
// e^x and e^-x leave the normal range or overflow; zeros, infinities, NaN and the largest float.
std::vector<float> sample_of_all_floats() {
  std::vector<float> xs = floats_between(-90.0f, -86.0f), high = floats_between(86.0f, 90.0f);
  xs.insert(xs.end(), high.begin(), high.end());
  for (std::uint64_t bits = 0; bits <= 0xFFFFFFFFu; bits += 61) xs.push_back(std::bit_cast<float>(std::uint32_t(bits)));
  const float inf = std::numeric_limits<float>::infinity();
  for (float x : {0.0f, -0.0f, inf, -inf, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::max()})
    xs.push_back(x);
  return xs;
}

constexpr auto nonpositive = [](auto x) { return farbound::simd::exp_nonpositive(x); };
constexpr auto full_range = [](auto x) { return farbound::simd::exp_full_range(x); };

}  // namespace

TEST_CASE("exp_nonpositive gives xsimd::exp's bits for non-positive floats", "[simd]") {
  check_xsimd_bits(sample_of_nonpositive_floats(), nonpositive);
}

TEST_CASE("exp_full_range gives xsimd::exp's bits for every float", "[simd]") {
  check_xsimd_bits(sample_of_all_floats(), full_range);
}

TEST_CASE("exp_negated gives xsimd::exp(-x)'s bits wherever they are a normal float", "[simd]") {
  // Where xsimd's result is 0, subnormal or +inf, either the same or e^-x within a rounding
  // (AVX-512's vscalef gives the subnormal results and the finite ones up to -x = 88.72).
  std::vector<float> xs = sample_of_all_floats();
  const float inf = std::numeric_limits<float>::infinity();
  using B = xsimd::batch<float>;
  pad_to_batches(xs, 0.0f);
  std::size_t normal = 0, edge = 0, bad = 0;
  float first_bad = 0.0f;
  for (std::size_t i = 0; i < xs.size(); i += B::size) {
    alignas(64) float ours[B::size], theirs[B::size];
    const B x = B::load_unaligned(xs.data() + i);
    farbound::simd::exp_negated(x).store_aligned(ours);
    xsimd::exp(-x).store_aligned(theirs);
    for (std::size_t l = 0; l < B::size; ++l) {
      const float xl = xs[i + l];
      bool ok;
      if (std::isnan(xl)) {
        ok = std::isnan(ours[l]);
      } else if (std::isnormal(theirs[l])) {
        ++normal;
        ok = std::memcmp(ours + l, theirs + l, sizeof(float)) == 0;
      } else {
        ++edge;
        const double exact = std::exp(-double(xl)), rounding = 0x1p-149 + 0x1p-23 * exact;
        ok = std::memcmp(ours + l, theirs + l, sizeof(float)) == 0 ||
             (exact > std::numeric_limits<float>::max() ? ours[l] == inf || std::abs(ours[l] - exact) <= rounding
                                                         : std::abs(double(ours[l]) - exact) <= rounding);
      }
      if (!ok && bad++ == 0) first_bad = xl;
    }
  }
  INFO(bad << " mismatches, the first at x = " << first_bad);
  CHECK(bad == 0);
  CHECK(normal > 30'000'000);
  CHECK(edge > 1'000'000);
}

TEST_CASE("The exponentials are xsimd::exp for doubles", "[simd]") {
  std::vector<double> xs;
  for (int i = -1000; i <= 1000; ++i) xs.push_back(0.75 * i);
  xs.push_back(std::numeric_limits<double>::infinity());
  xs.push_back(-std::numeric_limits<double>::infinity());
  check_xsimd_bits(xs, full_range);
  check_xsimd_bits(xs, [](auto x) { return farbound::simd::exp_negated(-x); });
  xs.resize(1001);  // -750 to 0
  check_xsimd_bits(xs, nonpositive);
}

TEST_CASE("softmax_exp is within (2 + 1.25 |x|) 2^-24 of e^x for non-positive floats", "[simd]") {
  using B = xsimd::batch<float>;
  std::vector<float> xs = sample_of_nonpositive_floats();
  pad_to_batches(xs, 0.0f);
  std::size_t outside = 0;
  double worst = 0;  // the largest error in units of (2 + 1.25 |x|) 2^-24 e^x, over the normal results
  float worst_at = 0;
  for (std::size_t i = 0; i < xs.size(); i += B::size) {
    alignas(64) float got[B::size];
    farbound::simd::softmax_exp(B::load_unaligned(xs.data() + i)).store_aligned(got);
    for (std::size_t l = 0; l < B::size; ++l) {
      const float x = xs[i + l];
      const double exact = std::exp(double(x)), error = std::abs(double(got[l]) - exact);
      bool right;
      if (std::isnan(x)) right = std::isnan(got[l]);
      else if (exact < double(std::numeric_limits<float>::min())) right = error <= double(std::numeric_limits<float>::min());
      else {
        const double units = error / ((2.0 + 1.25 * std::abs(double(x))) * 0x1p-24 * exact);
        if (units > worst) worst = units, worst_at = x;
        right = units <= 1.0;
      }
      outside += !right;
    }
  }
  INFO(outside << " results outside the bound; the largest error " << worst << " of it, at x = " << worst_at);
  CHECK(outside == 0);
  // The row's largest logit gives exactly 1: the smoothness kernels find it by floor(e) == 1.
  alignas(64) float ones[B::size];
  farbound::simd::softmax_exp(B(-0.0f)).store_aligned(ones);
  CHECK(std::all_of(ones, ones + B::size, [](float e) { return e == 1.0f; }));
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

TEST_CASE("expm1_nonpositive is within an ulp of e^x - 1 for non-positive floats", "[simd]") {
  using B = xsimd::batch<float>;
  // How far the results of f over xs are from the correctly rounded ones: the worst, where,
  // and how many are off at all.
  struct Errors {
    std::int64_t worst = 0, inexact = 0;
    float worst_at = 0;
    double mean_signed = 0;  // in ulp of the correctly rounded result, over the finite results
  };
  const auto measure = [](std::vector<float> xs, auto f) {
    pad_to_batches(xs, -1.0f);
    Errors e;
    std::int64_t finite = 0;
    for (std::size_t i = 0; i < xs.size(); i += B::size) {
      alignas(64) float got[B::size];
      f(B::load_unaligned(xs.data() + i)).store_aligned(got);
      for (std::size_t l = 0; l < B::size; ++l) {
        const double exact = std::expm1(double(xs[i + l]));
        const float rounded = float(exact);
        const std::int64_t off = ulps_apart(got[l], rounded);
        e.inexact += off > 0;
        if (off > e.worst) e.worst = off, e.worst_at = xs[i + l];
        if (std::isfinite(exact) && rounded != 0) {
          e.mean_signed += (double(got[l]) - exact) / std::abs(double(std::nextafter(rounded, 0.0f)) - double(rounded));
          ++finite;
        }
      }
    }
    e.mean_signed /= double(std::max<std::int64_t>(finite, 1));
    return e;
  };
  const auto ours = [](B x) { return farbound::simd::expm1_nonpositive(x); };
  const auto theirs = [](B x) { return xsimd::expm1(x); };
  // Every 61st sign-bit pattern: -0 to -inf and the negative NaNs.
  std::vector<float> sample;
  for (std::uint64_t bits = 0x80000000u; bits <= 0xFFFFFFFFu; bits += 61) sample.push_back(std::bit_cast<float>(std::uint32_t(bits)));
#if defined(__AVX512F__)
  constexpr bool own_kernel = sizeof(B) == 64;
#elif defined(__AVX2__)
  constexpr bool own_kernel = sizeof(B) == 32;
#else
  constexpr bool own_kernel = false;
#endif
  if (!own_kernel) {
    // Without AVX2 it is xsimd::expm1 (2 ulp off at x = -15.94, 0.1 ulp on average in
    // [-20, -8]: the bounds below are for the kernel that replaces it).
    std::int64_t differ = 0;
    for (std::size_t i = 0; i + B::size <= sample.size(); i += B::size) {
      alignas(64) float got[B::size], want[B::size];
      ours(B::load_unaligned(sample.data() + i)).store_aligned(got);
      theirs(B::load_unaligned(sample.data() + i)).store_aligned(want);
      differ += std::memcmp(got, want, sizeof got) != 0;
    }
    CHECK(differ == 0);
    return;
  }
  const Errors all = measure(sample, ours);
  INFO("sample: worst " << all.worst << " ulp at x = " << all.worst_at << ", " << all.inexact << " of " << sample.size()
                        << " inexact");
  CHECK(all.worst <= 1);
  // Where CELU's inputs lie, stretch by stretch, every fifth float: within an ulp, off by
  // less than 0.05 ulp on average, and not much more often inexact than xsimd::expm1 (at
  // most 2 % of the stretch more; [-0.7, -0.35], where 2^k - 1 = -1/2, has 16.3 % against
  // xsimd's 15.2 %). The average caught a polynomial fitted for e^r, whose results in
  // [-0.35, -0.1] were 0.6 ulp off on average (63 % inexact).
  const float edges[] = {0.0f, -0.01f, -0.1f, -0.35f, -0.7f, -1.0f, -2.0f, -4.0f, -8.0f, -20.0f};
  for (std::size_t e = 0; e + 1 < std::size(edges); ++e) {
    std::vector<float> xs;
    std::int64_t n = 0;
    for (float x = edges[e + 1]; x < edges[e]; x = std::nextafter(x, 0.0f))
      if (n++ % 5 == 0) xs.push_back(x);
    const Errors got = measure(xs, ours), reference = measure(xs, theirs);
    INFO("[" << edges[e + 1] << ", " << edges[e] << "): worst " << got.worst << " ulp at x = " << got.worst_at << ", "
             << got.inexact << " inexact, xsimd::expm1 " << reference.inexact << ", of " << xs.size()
             << "; on average " << got.mean_signed << " ulp off");
    CHECK(got.worst <= 1);
    CHECK(std::abs(got.mean_signed) < 0.05);
    CHECK(double(got.inexact) <= double(reference.inexact) + 0.02 * double(xs.size()));
  }
  // Every float where the input is clamped (at -104 on AVX-512, at -87 on AVX2); and the
  // edge cases.
  for (const float clamp : {-104.0f, -87.0f}) {
    const Errors clamped = measure(floats_between(clamp - 1.0f, clamp + 1.0f), ours);
    INFO("around " << clamp << ": worst " << clamped.worst << " ulp at x = " << clamped.worst_at);
    CHECK(clamped.worst == 0);
  }
  const float inf = std::numeric_limits<float>::infinity();
  const Errors edge_cases = measure({0.0f, -0.0f, -inf, std::numeric_limits<float>::quiet_NaN(),
                                     -std::numeric_limits<float>::denorm_min(), -std::numeric_limits<float>::min(), -1e-7f},
                                    ours);
  INFO("edge cases: worst " << edge_cases.worst << " ulp at x = " << edge_cases.worst_at);
  CHECK(edge_cases.worst == 0);
}
