#pragma once
// The first-order margin (Elsayed et al., NeurIPS 2018, "Large margin deep networks";
// docs/boundary.md): the distance from x to the boundary between its class y and a rival j
// when the logit difference is replaced by its linearisation at x,
//   d_j(x) = (z_y(x) - z_j(x)) / || grad_x (z_y - z_j)(x) ||_*
// with ||.||_* the dual of the norm the distance is measured in (L2 -> L2, L-inf -> L1), and
//   margin(x) = min over the `rivals` classes j != y of the largest logits of d_j(x).
// Positive where x is classified as y, negative where a rival wins. On an affine classifier
// it is the exact signed distance to each pairwise boundary, so with all rivals the exact
// distance to the decision region's border (tests/metrics/boundary_geometry.cpp).
// One forward pass and `rivals` backward passes per batch.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "farbound/attack/norm.hpp"
#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/batches.hpp"
#include "farbound/nn/eval_mode.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound {

// Result of first_order_margin: the signed linearised distance to the nearest rival's boundary.
struct FirstOrderMargin {
  // Per point, measured in L2 (gradient's dual norm L2).
  std::vector<double> l2;
  // Per point, measured in L-inf (gradient's dual norm L1).
  std::vector<double> linf;
};

template <class T>
FirstOrderMargin first_order_margin(Sequential<T>& model, TensorView<const std::type_identity_t<T>> x,
                                    std::span<const int> labels, int rivals = 9, std::int64_t batch_size = 256) {
  const std::string who = "first_order_margin";
  detail::require_labels(x, labels, who);
  detail::require_batch_size(batch_size, who);
  if (rivals < 1) throw argument_error(who + ": rivals must be >= 1, got " + std::to_string(rivals));
  const std::int64_t n = x.size(0), d = x.shape().item_numel();
  const std::int64_t c = detail::num_classes(model, x, who);
  if (c < 2) throw argument_error(who + ": the model needs at least 2 classes");
  detail::require_classes(labels, c, who);
  const std::int64_t k_count = std::min<std::int64_t>(rivals, c - 1);

  constexpr double inf = std::numeric_limits<double>::infinity();
  FirstOrderMargin out{std::vector<double>(std::size_t(n), inf), std::vector<double>(std::size_t(n), inf)};
  const EvalMode<T> eval(model);
  Tensor<T> grad;
  std::vector<int> order(static_cast<std::size_t>(c)), rival;
  detail::for_each_batch(n, batch_size, [&](std::int64_t first, std::int64_t b) {
    const auto xb = TensorView<const T>(x.data() + first * d, x.shape().with_batch(b));
    const TensorView<const T> z = model.forward(xb);
    // rival[m * k_count + r]: the r-th largest logit of item m among the classes != y.
    rival.resize(std::size_t(b * k_count));
    for (std::int64_t m = 0; m < b; ++m) {
      const T* row = z.data() + m * c;
      const int y = labels[std::size_t(first + m)];
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [row](int p, int q) { return row[p] > row[q]; });
      std::int64_t r = 0;
      for (int cls : order)
        if (cls != y && r < k_count) rival[std::size_t(m * k_count + r++)] = cls;
    }
    grad.resize(z.shape());
    for (std::int64_t r = 0; r < k_count; ++r) {
      grad.zero();
      for (std::int64_t m = 0; m < b; ++m) {
        grad[m * c + labels[std::size_t(first + m)]] = T(1);
        grad[m * c + rival[std::size_t(m * k_count + r)]] = T(-1);
      }
      // The logits view stays valid: backward leaves the forward outputs untouched.
      const TensorView<const T> g = model.backward(grad.view(), InputGrad::compute, ParamGrads::skip);
      parallel_for(b, [&](std::int64_t m) {
        const T* row = z.data() + m * c;
        const double gap = double(row[labels[std::size_t(first + m)]]) - double(row[rival[std::size_t(m * k_count + r)]]);
        const T* gm = g.data() + m * d;
        const double l2 = detail::dual_norm_of(gm, d, Norm::l2), l1 = detail::dual_norm_of(gm, d, Norm::linf);
        // A flat margin (zero gradient) puts the linearised boundary at infinity, or at 0 when the gap is 0.
        const auto ratio = [gap](double dual) { return dual > 0 ? gap / dual : (gap == 0 ? 0.0 : std::copysign(inf, gap)); };
        double& a = out.l2[std::size_t(first + m)];
        double& e = out.linf[std::size_t(first + m)];
        a = std::min(a, ratio(l2));
        e = std::min(e, ratio(l1));
      });
    }
  });
  return out;
}

}  // namespace farbound
