#pragma once
// Standard normal numbers from Philox words with the same bits on every machine: the CPU
// (one number at a time or on SIMD registers) and the GPU.
//
// Box-Muller: words (w_r, w_t) give u = (w_r + 1/2) 2^-32 in (0, 1), t = 2 pi w_t 2^-32 and
// the pair sqrt(-2 ln u) * (cos t, sin t). libm, xsimd and CUDA each round ln, cos and sin
// their own way, so the transform is written here once from +, -, *, /, sqrt and fma, which
// IEEE 754 rounds the same everywhere. Every multiply-add is an explicit fma: a compiler
// that contracts a*b + c on one target and not on another cannot change a bit.
//
// Range reduction is exact integer work on the words:
//   ln u = ln(2 w_r + 1) - 33 ln 2, and 2 w_r + 1 = 2^e m with m in [1/sqrt2, sqrt2), so
//   ln u = (e - 33) ln 2 + ln(1 + f), f = m - 1 (exact), and ln(1 + f) comes from fdlibm's
//   e_log.c kernel: s = f / (2 + f), ln(1 + f) = f - (f^2/2 - s (f^2/2 + R(s^2))).
//   t = q pi/2 + phi with quadrant q = w_t >> 30 and phi = (pi/2) j 2^-30, j = w_t mod 2^30.
//   For phi > pi/4 the complement pi/2 - phi = (pi/2) (2^30 - j) 2^-30 is used with sin and
//   cos swapped, so the polynomials (fdlibm's k_sin.c and k_cos.c) only see [0, pi/4].
// The result is within a few units in the last place of the exact transform.
//
// The reduction and the final assembly are per number (box_muller_reduce, box_muller_pair);
// the polynomials in between (box_muller_radius, sin_cos_quarter) are templates over the
// value type, double or an xsimd batch of doubles, so a SIMD caller runs the same source
// (sampling/detail/normal_numbers.hpp). Their fma is a parameter (std::fma by default), their
// sqrt found by argument-dependent lookup for batches, std:: for double.
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>

#include "farbound/core/host_device.hpp"
#include "farbound/core/random.hpp"

namespace farbound {

// One Box-Muller pair after the integer range reduction.
struct BoxMullerReduced {
  double f;       // ln u = k ln 2 + ln(1 + f)
  // The exponent: ln u = k ln 2 + ln(1 + f).
  double k;
  double x;       // in [0, pi/4]
  int quadrant;   // t = quadrant * pi/2 + (swapped ? pi/2 - x : x)
  // Whether the angle was reflected: t = quadrant pi/2 + pi/2 - x.
  bool swapped;
};

FARBOUND_HOST_DEVICE inline BoxMullerReduced box_muller_reduce(std::uint32_t w_radius, std::uint32_t w_angle) {
  const std::uint64_t n = 2 * std::uint64_t(w_radius) + 1;  // u = n 2^-33
  // m = n 2^-e in [1, 2), exact: n's bits below its leading one become the mantissa.
#if defined(__CUDA_ARCH__)
  int e = 63 - __clzll(static_cast<long long>(n));
  double m = __longlong_as_double(static_cast<long long>((std::uint64_t(1023) << 52) | ((n << (52 - e)) & ((std::uint64_t(1) << 52) - 1))));
#else
  int e = 63 - std::countl_zero(n);
  double m = std::bit_cast<double>((std::uint64_t(1023) << 52) | ((n << (52 - e)) & ((std::uint64_t(1) << 52) - 1)));
#endif
  if (m > 1.4142135623730951) {
    m *= 0.5;
    ++e;
  }
  constexpr std::uint32_t quarter = std::uint32_t(1) << 30;
  std::uint32_t j = w_angle & (quarter - 1);
  const bool swapped = j > quarter / 2;
  if (swapped) j = quarter - j;
  constexpr double half_pi_step = 1.5707963267948966 / double(quarter);
  return {m - 1.0, double(e - 33), double(j) * half_pi_step, int(w_angle >> 30), swapped};
}

// The fused multiply-add of the polynomials below on scalars. A SIMD caller passes its own:
// xsimd 8.1's fma on AVX-512 batches is a * b + c, rounded twice unless the optimiser
// contracts it, which would change bits.
struct ScalarFma {
  // fma(a, b, c): std::fma, or the one argument-dependent lookup finds for V.
  template <class V>
  FARBOUND_HOST_DEVICE V operator()(V a, V b, V c) const {
    using std::fma;
    return fma(a, b, c);
  }
};

// sqrt(-2 ln u) from (f, k).
template <class V, class Fma = ScalarFma>
FARBOUND_HOST_DEVICE V box_muller_radius(V f, V k, Fma fma = {}) {
  using std::sqrt;
  constexpr double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
  const V s = f / (V(2.0) + f);
  const V z = s * s;
  // R(z) / z = Lg1 + Lg2 z + ... + Lg7 z^6.
  V poly = V(1.479819860511658591e-01);
  poly = fma(poly, z, V(1.531383769920937332e-01));
  poly = fma(poly, z, V(1.818357216161805012e-01));
  poly = fma(poly, z, V(2.222219843214978396e-01));
  poly = fma(poly, z, V(2.857142874366239149e-01));
  poly = fma(poly, z, V(3.999999999940941908e-01));
  poly = fma(poly, z, V(6.666666666666735130e-01));
  const V half_f = V(0.5) * f;
  const V inner = fma(s, fma(z, poly, half_f * f), k * V(ln2_lo));  // s (f^2/2 + R) + k ln2_lo
  const V log_u = fma(k, V(ln2_hi), f - fma(half_f, f, -inner));
  return sqrt(V(-2.0) * log_u);
}

// sin x and cos x for x in [0, pi/4].
template <class V, class Fma = ScalarFma>
FARBOUND_HOST_DEVICE void sin_cos_quarter(V x, V& sin_x, V& cos_x, Fma fma = {}) {
  const V z = x * x;
  V sp = V(1.58969099521155010221e-10);
  sp = fma(sp, z, V(-2.50507602534068634195e-08));
  sp = fma(sp, z, V(2.75573137070700676789e-06));
  sp = fma(sp, z, V(-1.98412698298579493134e-04));
  sp = fma(sp, z, V(8.33333333332248946124e-03));
  sin_x = fma(z * x, fma(z, sp, V(-1.66666666666666324348e-01)), x);
  V cp = V(-1.13596475577881948265e-11);
  cp = fma(cp, z, V(2.08757232129817482790e-09));
  cp = fma(cp, z, V(-2.75573143513906633035e-07));
  cp = fma(cp, z, V(2.48015872894767294178e-05));
  cp = fma(cp, z, V(-1.38888888888741095749e-03));
  cp = fma(cp, z, V(4.16666666666666019037e-02));
  // cos x = 1 - z/2 + z^2 cp, summed as fdlibm does so that 1 - z/2 loses nothing.
  const V half_z = V(0.5) * z;
  const V w = V(1.0) - half_z;
  cos_x = w + fma(z, z * cp, (V(1.0) - w) - half_z);
}

// (radius cos t, radius sin t) from the reduction and the polynomials' results. With
// phi = pi/2 - x when swapped, t = q pi/2 + phi: cos t and sin t are +-sin x or +-cos x,
// exchanged when exactly one of "q odd" and "swapped" holds; cos t < 0 in quadrants 1, 2,
// sin t < 0 in quadrants 2, 3.
FARBOUND_HOST_DEVICE inline void box_muller_pair(const BoxMullerReduced& reduced, double radius, double sin_x,
                                                 double cos_x, double* out) {
  const bool exchange = ((reduced.quadrant & 1) != 0) != reduced.swapped;
  const double cos_t = radius * (exchange ? sin_x : cos_x), sin_t = radius * (exchange ? cos_x : sin_x);
  out[0] = reduced.quadrant == 1 || reduced.quadrant == 2 ? -cos_t : cos_t;
  out[1] = reduced.quadrant >= 2 ? -sin_t : sin_t;
}

// Standard normal numbers 4b .. 4b + 3 of a stream from its block b: words 0 and 1 give
// numbers 0 and 1, words 2 and 3 numbers 2 and 3.
FARBOUND_HOST_DEVICE inline std::array<double, 4> box_muller4(const PhiloxCounter& words) {
  std::array<double, 4> z{};
  for (int h = 0; h < 2; ++h) {
    const BoxMullerReduced reduced = box_muller_reduce(words[2 * h], words[2 * h + 1]);
    double sin_x, cos_x;
    sin_cos_quarter(reduced.x, sin_x, cos_x);
    box_muller_pair(reduced, box_muller_radius(reduced.f, reduced.k), sin_x, cos_x, z.data() + 2 * h);
  }
  return z;
}

}  // namespace farbound
