#pragma once
// The Clopper-Pearson ("exact") confidence interval of a binomial proportion: after k
// successes in n independent trials, the interval [p_lo, p_hi] of level 1 - alpha holds
// every p under which the observed k is not in either alpha/2 tail:
//   P(Bin(n, p_lo) >= k) = alpha / 2   ->  p_lo = Beta quantile(alpha / 2;     k,     n - k + 1)
//   P(Bin(n, p_hi) <= k) = alpha / 2   ->  p_hi = Beta quantile(1 - alpha / 2; k + 1, n - k)
// with p_lo = 0 when k = 0 and p_hi = 1 when k = n. Its coverage is at least 1 - alpha for
// every p (conservative), which is what a robustness claim ("eta is at most ...") needs.
#include <cmath>
#include <cstdint>
#include <string>

#include "farbound/core/error.hpp"
#include "farbound/core/format_number.hpp"
#include "farbound/theory/detail/beta.hpp"

namespace farbound {

// A two-sided confidence interval for a proportion.
struct ConfidenceInterval {
  // Lower bound.
  double lower = 0;
  // Upper bound.
  double upper = 1;
  // Whether p lies in the interval.
  bool contains(double p) const { return lower <= p && p <= upper; }
};

// The two-sided interval of level `confidence` for `successes` out of `trials`; [0, 1]
// when there are no trials.
inline ConfidenceInterval clopper_pearson(std::int64_t successes, std::int64_t trials, double confidence = 0.95) {
  if (trials < 0 || successes < 0 || successes > trials)
    throw argument_error("clopper_pearson: " + std::to_string(successes) + " successes in " + std::to_string(trials) +
                         " trials");
  if (!(confidence > 0 && confidence < 1))
    throw argument_error("clopper_pearson: confidence " + detail::format_number(confidence) + " outside (0, 1)");
  if (trials == 0) return {0.0, 1.0};
  const double alpha = 1 - confidence, k = double(successes), n = double(trials);
  ConfidenceInterval ci;
  ci.lower = successes == 0 ? 0.0 : detail::inverse_regularized_incomplete_beta(k, n - k + 1, alpha / 2);
  ci.upper = successes == trials ? 1.0 : detail::inverse_regularized_incomplete_beta(k + 1, n - k, 1 - alpha / 2);
  return ci;
}

}  // namespace farbound
