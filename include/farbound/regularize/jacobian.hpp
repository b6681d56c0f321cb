#pragma once
// Jacobian regularisation (Hoffman, Roberts, Yaida 2019, arXiv 1908.02729), estimated in
// forward mode by finite differences along random input directions.
//
// Hoffman et al. penalise (1/2) ||J||_F^2 of the logit Jacobian J = dz/dx and estimate it
// in reverse mode: ||J||_F^2 = C * E_v ||J^T v||^2 for v uniform on the unit sphere of the
// C logits, one projection by default; differentiating that needs a second backward pass.
// We use the dual, forward-mode identity ||J||_F^2 = E_n ||J n||^2 for n ~ N(0, I_D) in
// input space, with J n ~ (z(x + sigma n) - z(x)) / sigma: the same neighbours as the
// smoothness loss, with sigma = neighbor_noise_std. For anchor i with K neighbours,
//   JR_i = 1/(2K) * sum_k ||z_ik - z_i||^2 / sigma^2,   L_JR = lambda/B * sum_i JR_i
//   dL/dz_ik = lambda/B * (z_ik - z_i) / (K sigma^2),   dL/dz_i = -sum_k dL/dz_ik.
// Both estimators are unbiased for ||J||_F^2 up to the finite-difference error O(sigma).
#include <cstdint>
#include <string>

#include "farbound/core/error.hpp"
#include "farbound/core/tensor.hpp"

namespace farbound {

// Adds the gradient of lambda * (1/B) sum_i JR_i into anchor_grad [B, C] and
// neighbour_grad [B*K, C]; returns (1/B) sum_i JR_i (without lambda).
template <class T>
T jacobian_penalty(TensorView<const T> anchor_logits, TensorView<const T> neighbour_logits, double sigma, double lambda,
                   TensorView<T> anchor_grad, TensorView<T> neighbour_grad) {
  if (anchor_logits.rank() != 2 || neighbour_logits.rank() != 2 || anchor_logits.size(0) == 0 ||
      neighbour_logits.size(1) != anchor_logits.size(1) || neighbour_logits.size(0) % anchor_logits.size(0) != 0 ||
      neighbour_logits.size(0) == 0)
    throw shape_error("jacobian_penalty: anchor logits " + anchor_logits.shape().to_string() + " and neighbour logits " +
                      neighbour_logits.shape().to_string() + " do not form [B, C] and [B*K, C]");
  require_same_shape(anchor_grad.shape(), anchor_logits.shape(), "jacobian_penalty (anchor gradient)");
  require_same_shape(neighbour_grad.shape(), neighbour_logits.shape(), "jacobian_penalty (neighbour gradient)");
  if (!(sigma > 0)) throw argument_error("jacobian_penalty: sigma must be > 0, got " + std::to_string(sigma));
  const std::int64_t b = anchor_logits.size(0), c = anchor_logits.size(1), k = neighbour_logits.size(0) / b;
  const double inv = 1.0 / (double(k) * sigma * sigma);
  const T scale = T(lambda * inv / double(b));
  double total = 0;
  for (std::int64_t i = 0; i < b; ++i)
    for (std::int64_t j = 0; j < k; ++j)
      for (std::int64_t m = 0; m < c; ++m) {
        const T d = neighbour_logits[(i * k + j) * c + m] - anchor_logits[i * c + m];
        total += double(d) * double(d);
        neighbour_grad[(i * k + j) * c + m] += scale * d;
        anchor_grad[i * c + m] -= scale * d;
      }
  return T(0.5 * total * inv / double(b));
}

}  // namespace farbound
