#pragma once
// The small statistics the metrics report: mean with standard error (over seeds), mean with
// standard deviation (over points), quantiles and histograms.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/core/format_number.hpp"

namespace farbound {

// Mean of n values with its standard error s / sqrt(n), s the sample standard deviation
// (n - 1 in the denominator): the "mean +- s.e. over seeds" of the paper's tables.
// The standard error of a single value is 0; of no values, mean and error are NaN.
struct MeanError {
  // Mean.
  double mean = 0;
  // Standard error of the mean (0 for one value, NaN for none).
  double standard_error = 0;
  // Number of values.
  std::int64_t count = 0;
};

// Mean and standard error of the mean of `values`.
inline MeanError mean_standard_error(std::span<const double> values) {
  const auto n = std::int64_t(values.size());
  if (n == 0) return {std::nan(""), std::nan(""), 0};
  double sum = 0;
  for (double v : values) sum += v;
  const double mean = sum / double(n);
  if (n == 1) return {mean, 0.0, 1};
  double squares = 0;
  for (double v : values) squares += (v - mean) * (v - mean);
  return {mean, std::sqrt(squares / double(n - 1)) / std::sqrt(double(n)), n};
}

// Mean and population standard deviation (n in the denominator, numpy's default) of values.
struct MeanStd {
  // Mean.
  double mean = 0;
  // Standard deviation.
  double std = 0;
};

// Mean and standard deviation of `values`.
inline MeanStd mean_std(std::span<const double> values) {
  if (values.empty()) return {std::nan(""), std::nan("")};
  double sum = 0;
  for (double v : values) sum += v;
  const double mean = sum / double(values.size());
  double squares = 0;
  for (double v : values) squares += (v - mean) * (v - mean);
  return {mean, std::sqrt(squares / double(values.size()))};
}

// The q-quantile (q in [0, 1]) with linear interpolation between order statistics, as
// numpy.quantile's default; NaN for no values.
inline double quantile(std::vector<double> values, double q) {
  if (!(q >= 0 && q <= 1)) throw argument_error("quantile: q must lie in [0, 1], got " + detail::format_number(q));
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  const double pos = q * double(values.size() - 1);
  const auto lo = std::size_t(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (pos - double(lo)) * (values[hi] - values[lo]);
}

// Counts of values in `bins` equal bins over [lower, upper]; the last bin includes upper
// (numpy.histogram's convention). Values outside [lower, upper] or NaN are counted in
// `outside`, not in any bin.
struct Histogram {
  // Lower end of the range the bins cover.
  double lower = 0;
  // Upper end of that range.
  double upper = 1;
  // Values per bin.
  std::vector<std::int64_t> counts;
  // Values outside [lower, upper].
  std::int64_t outside = 0;

  // Width of one bin.
  double bin_width() const { return (upper - lower) / double(counts.size()); }
};

// Counts of `values` in `bins` equal bins over [lower, upper].
inline Histogram histogram(std::span<const double> values, int bins, double lower, double upper) {
  if (bins < 1) throw argument_error("histogram: bins must be >= 1, got " + std::to_string(bins));
  if (!std::isfinite(lower) || !std::isfinite(upper) || !(lower < upper))
    throw argument_error("histogram: range [" + detail::format_number(lower) + ", " + detail::format_number(upper) +
                         "] must be finite with lower < upper");
  Histogram h{lower, upper, std::vector<std::int64_t>(std::size_t(bins), 0), 0};
  for (double v : values) {
    if (!(v >= lower && v <= upper)) {
      ++h.outside;
      continue;
    }
    const auto bin = std::min<std::int64_t>(bins - 1, std::int64_t((v - lower) / (upper - lower) * bins));
    ++h.counts[std::size_t(bin)];
  }
  return h;
}

}  // namespace farbound
