#pragma once
// The regularised incomplete beta function I_x(a, b) and its inverse in x, for the exact
// (Clopper-Pearson) binomial interval: P(Bin(n, p) >= k) = I_p(k, n - k + 1).
//
//   I_x(a, b) = x^a (1 - x)^b / (a B(a, b)) * 1 / (1 + d_1 / (1 + d_2 / (1 + ...)))
//   d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1))
//   d_{2m}   =  m (b - m) x / ((a + 2m - 1)(a + 2m))
// The continued fraction converges fast for x < (a + 1) / (a + b + 2); above that,
// I_x(a, b) = 1 - I_{1-x}(b, a) is used. It is evaluated by the modified Lentz method
// (Numerical Recipes, section 6.4).
#include <cmath>
#include <limits>
#include <string>

#include "farbound/core/error.hpp"
#include "farbound/core/format_number.hpp"

namespace farbound::detail {

// The continued fraction above (without the prefactor), by modified Lentz.
inline double beta_continued_fraction(double a, double b, double x) {
  constexpr double tiny = 1e-300, eps = 1e-16;
  constexpr int max_terms = 100000;
  double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
  if (std::abs(d) < tiny) d = tiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= max_terms; ++m) {
    const double m2 = 2.0 * m;
    // Even step: d_{2m}.
    double num = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
    d = 1.0 + num * d;
    c = 1.0 + num / c;
    if (std::abs(d) < tiny) d = tiny;
    if (std::abs(c) < tiny) c = tiny;
    d = 1.0 / d;
    h *= d * c;
    // Odd step: d_{2m+1}.
    num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
    d = 1.0 + num * d;
    c = 1.0 + num / c;
    if (std::abs(d) < tiny) d = tiny;
    if (std::abs(c) < tiny) c = tiny;
    d = 1.0 / d;
    const double step = d * c;
    h *= step;
    if (std::abs(step - 1.0) < eps) return h;
  }
  throw numeric_error("incomplete beta: continued fraction did not converge for a = " + format_number(a) +
                      ", b = " + format_number(b) + ", x = " + format_number(x));
}

// I_x(a, b) for a, b > 0 and x in [0, 1].
inline double regularized_incomplete_beta(double a, double b, double x) {
  if (!(a > 0) || !(b > 0) || !std::isfinite(a) || !std::isfinite(b))
    throw argument_error("incomplete beta: a = " + format_number(a) + " and b = " + format_number(b) +
                         " must be positive and finite");
  if (!(x >= 0 && x <= 1)) throw argument_error("incomplete beta: x = " + format_number(x) + " outside [0, 1]");
  if (x == 0 || x == 1) return x;
  // log of x^a (1 - x)^b / B(a, b); lgamma keeps it finite for large a, b.
  const double log_front =
      std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  if (x < (a + 1.0) / (a + b + 2.0)) return std::exp(log_front) * beta_continued_fraction(a, b, x) / a;
  return 1.0 - std::exp(log_front) * beta_continued_fraction(b, a, 1.0 - x) / b;
}

// The x in [0, 1] with I_x(a, b) = p: bisection (I_x is increasing in x), run until the
// bracket is a few ulps wide relative to its upper end, so tiny quantiles keep their
// relative precision too.
inline double inverse_regularized_incomplete_beta(double a, double b, double p) {
  if (!(p >= 0 && p <= 1)) throw argument_error("inverse incomplete beta: p = " + format_number(p) + " outside [0, 1]");
  if (p == 0) return 0;
  if (p == 1) return 1;
  double lo = 0, hi = 1;
  for (int it = 0; it < 2200 && hi - lo > 4 * std::numeric_limits<double>::epsilon() * hi; ++it) {
    const double mid = 0.5 * (lo + hi);
    if (regularized_incomplete_beta(a, b, mid) < p) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

}  // namespace farbound::detail
