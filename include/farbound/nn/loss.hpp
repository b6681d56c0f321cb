#pragma once
// Softmax, log-softmax and the cross-entropy loss over logits [N, C].
//
// Every row is shifted by its maximum m before exponentiating:
//   softmax(z)_c     = e^(z_c - m) / s,            s = sum_c' e^(z_c' - m)  (1 <= s <= C)
//   log_softmax(z)_c = (z_c - m) - log(s)
// so no exponential overflows and the logarithm never sees 0: logits of +-1e4 give exact
// probabilities 0 and 1 and finite log-probabilities.
//
// Cross-entropy with integer labels y_i in [-1, C); -1 marks an unlabelled row, which adds
// nothing (PyTorch's ignore_index = -1 with reduction "mean"). With L the labelled rows:
//   loss          = 1/|L| sum_{i in L} -log softmax(z_i)_{y_i} = 1/|L| sum ((m_i - z_iy) + log s_i)
//   dloss/dz_ic   = (softmax(z_i)_c - [c == y_i]) / |L|  for i in L, 0 otherwise.
// A batch without labelled rows has loss 0 and gradient 0 (PyTorch returns 0/0 = NaN).
//
// T is deduced from the output tensor, so logits may be a Tensor<T>, a TensorView<T> or a
// TensorView<const T>.
//
// Rows are processed in parallel in chunks fixed by (N, C); per-chunk loss sums are added in
// chunk order, so the result does not depend on the thread count.
#include <algorithm>
#include <array>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <ranges>
#include <string>
#include <type_traits>

#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/simd.hpp"
#include "farbound/core/tensor.hpp"

namespace farbound {

namespace detail {

// Shift and scale of one row: m = max_c z_c, s = sum_c e^(z_c - m).
template <class T>
struct RowExp {
  T max, sum;
};

// e[c] = e^(z[c] - max z); returns the max and the sum.
template <class T>
RowExp<T> row_exp(const T* z, T* e, std::size_t classes) {
  const T m = simd::max(z, classes);
  return {m, simd::exp_shifted(z, m, e, classes)};
}

// Rows per parallel chunk: at most max_chunks chunks, and each at least ~4096 elements so a
// small batch is not spread over threads for nothing. Depends only on (rows, classes).
inline constexpr std::int64_t max_row_chunks = 64;
inline std::int64_t rows_per_chunk(std::int64_t rows, std::int64_t classes) {
  return std::max<std::int64_t>({1, chunk_count(rows, max_row_chunks), chunk_count(4096, std::max<std::int64_t>(1, classes))});
}

template <class T>
void require_logits(TensorView<const T> logits, const char* what) {
  if (logits.rank() != 2 || logits.size(1) == 0)
    throw shape_error(std::string(what) + ": logits must be [N, C] with C >= 1, got " + logits.shape().to_string());
}

}  // namespace detail

// probs = softmax of every row of logits [N, C]; probs is resized to [N, C].
template <class T>
void softmax(TensorView<const std::type_identity_t<T>> logits, Tensor<T>& probs) {
  detail::require_logits(logits, "softmax");
  probs.resize(logits.shape());
  const std::int64_t n = logits.size(0), c = logits.size(1);
  parallel_chunks(n, detail::rows_per_chunk(n, c), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      T* p = probs.data() + i * c;
      const detail::RowExp<T> r = detail::row_exp(logits.data() + i * c, p, std::size_t(c));
      simd::scale(T(1) / r.sum, p, std::size_t(c));
    }
  });
}

// out[c] = log_softmax(z)_c of one row of `classes` logits, computed in Acc: Acc = T is what
// log_softmax below runs; a wider Acc (double for float logits) is for sums that need the
// digits, e.g. TRADES's KL term. The maximum of z is exact in either type.
template <class Acc, class T>
void log_softmax_row(const T* z, Acc* out, std::size_t classes) {
  const Acc m = Acc(simd::max(z, classes));
  Acc sum;
  if constexpr (std::is_same_v<Acc, T>) {
    sum = simd::exp_shifted(z, m, out, classes);  // out holds e^(z - m) for now
  } else {
    for (std::size_t k = 0; k < classes; ++k) out[k] = Acc(z[k]);
    sum = simd::exp_shifted(out, m, out, classes);
  }
  const Acc log_sum = std::log(sum);
  for (std::size_t k = 0; k < classes; ++k) out[k] = (Acc(z[k]) - m) - log_sum;
}

// out = log_softmax of every row of logits [N, C]; out is resized to [N, C].
template <class T>
void log_softmax(TensorView<const std::type_identity_t<T>> logits, Tensor<T>& out) {
  detail::require_logits(logits, "log_softmax");
  out.resize(logits.shape());
  const std::int64_t n = logits.size(0), c = logits.size(1);
  parallel_chunks(n, detail::rows_per_chunk(n, c), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) log_softmax_row(logits.data() + i * c, out.data() + i * c, std::size_t(c));
  });
}

// Labels: any contiguous range of integers (std::vector<int>, std::span<const std::int64_t>,
// Tensor<std::int32_t>::span(), ...).
template <class R>
concept LabelRange = std::ranges::contiguous_range<R> && std::ranges::sized_range<R> &&
                     std::integral<std::ranges::range_value_t<R>>;

// Mean cross-entropy over the labelled rows of logits [N, C] (labels[i] in [-1, C), -1 =
// unlabelled); writes dloss/dlogits into grad_logits, resized to [N, C].
// Throws shape_error unless logits are [N, C] with N labels, argument_error naming the first
// row whose label lies outside [-1, C).
template <class T, LabelRange Labels>
T cross_entropy(TensorView<const std::type_identity_t<T>> logits, const Labels& labels, Tensor<T>& grad_logits) {
  detail::require_logits(logits, "cross_entropy");
  const std::int64_t n = logits.size(0), c = logits.size(1);
  const auto* y = std::ranges::data(labels);
  if (std::int64_t(std::ranges::size(labels)) != n)
    throw shape_error("cross_entropy: logits " + logits.shape().to_string() + " have " + std::to_string(n) +
                      " rows but there are " + std::to_string(std::ranges::size(labels)) + " labels");
  std::int64_t labelled = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const auto label = static_cast<long long>(y[i]);
    if (label < -1 || label >= c)
      throw argument_error("cross_entropy: row " + std::to_string(i) + " has label " + std::to_string(label) +
                           ", outside [-1, " + std::to_string(c) + ") for " + std::to_string(c) + " classes");
    labelled += label >= 0;
  }

  grad_logits.resize(logits.shape());
  if (labelled == 0) {
    grad_logits.zero();
    return T(0);
  }
  const T inv_labelled = T(1) / T(labelled);
  const std::int64_t chunk = detail::rows_per_chunk(n, c);
  // Loss sums per chunk in double: a float sum over thousands of rows would lose digits.
  std::array<double, detail::max_row_chunks> partial{};
  parallel_chunks(n, chunk, [&](std::int64_t begin, std::int64_t end) {
    double sum = 0;
    for (std::int64_t i = begin; i < end; ++i) {
      const T* z = logits.data() + i * c;
      T* g = grad_logits.data() + i * c;
      const auto label = static_cast<std::int64_t>(y[i]);
      if (label < 0) {
        std::fill_n(g, c, T(0));
        continue;
      }
      const detail::RowExp<T> r = detail::row_exp(z, g, std::size_t(c));
      // -log p_y = (m - z_y) + log s; m - z_y is exact when z_y is the maximum.
      sum += double(r.max - z[label]) + std::log(double(r.sum));
      simd::scale(inv_labelled / r.sum, g, std::size_t(c));
      g[label] -= inv_labelled;
    }
    partial[std::size_t(begin / chunk)] = sum;
  });
  double total = 0;
  for (double p : partial) total += p;
  return T(total / double(labelled));
}

}  // namespace farbound
