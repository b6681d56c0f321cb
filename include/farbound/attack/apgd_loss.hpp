#pragma once
// The losses APGD climbs, per item, from its logits z (C classes) and label y:
//
//   cross-entropy:  CE = log sum_c exp(z_c) - z_y,    dCE/dz = softmax(z) - e_y
//   DLR:            -(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3 + 1e-12)
//   targeted DLR:   -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2 + 1e-12)
//
// with pi the classes sorted by decreasing logit and t the target class (Croce & Hein, ICML
// 2020, section 4). DLR (difference of logits ratio) is the margin divided by a spread of the
// logits, so it does not change when the logits are shifted or scaled: a model that squashes
// or inflates its logits (and with them the cross-entropy's gradient) cannot hide behind it.
// Both DLR losses need pi3 and pi4, so four classes at least.
//
// For a ratio -n / s the gradient is -(dn - (n / s) ds) / s: dn = e_y - e_o (o = the strongest
// other class, or t), ds = e_pi1 - e_pi3 (untargeted) or e_pi1 - (e_pi3 + e_pi4) / 2.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

namespace farbound {

// The loss APGD climbs: cross-entropy, the difference of logits ratio, or its targeted version.
enum class ApgdLoss { cross_entropy, dlr, targeted_dlr };

// The loss's name as the reports print it.
inline const char* to_string(ApgdLoss loss) {
  return loss == ApgdLoss::cross_entropy ? "CE" : loss == ApgdLoss::dlr ? "DLR" : "DLR-T";
}

// The fewest classes the loss is defined for.
inline int min_classes(ApgdLoss loss) { return loss == ApgdLoss::cross_entropy ? 2 : 4; }

namespace detail {

// The indices of the four largest entries of a row of c >= 4 entries, largest first (the first
// of equals first).
template <class T>
std::array<int, 4> top4(const T* z, std::int64_t c) {
  std::array<int, 4> top = {-1, -1, -1, -1};
  for (std::int64_t i = 0; i < c; ++i) {
    int at = 4;
    while (at > 0 && (top[std::size_t(at - 1)] < 0 || z[i] > z[top[std::size_t(at - 1)]])) --at;
    if (at == 4) continue;
    for (int j = 3; j > at; --j) top[std::size_t(j)] = top[std::size_t(j - 1)];
    top[std::size_t(at)] = int(i);
  }
  return top;
}

// The loss of one item from its logits z [c], label y and target t (targeted DLR only);
// grad [c] = d loss / dz. Accumulated in double.
template <class T>
double apgd_loss(ApgdLoss loss, const T* z, std::int64_t c, int y, int t, T* grad) {
  if (loss == ApgdLoss::cross_entropy) {
    const double m = double(*std::max_element(z, z + c));
    double s = 0;
    for (std::int64_t i = 0; i < c; ++i) s += std::exp(double(z[i]) - m);
    for (std::int64_t i = 0; i < c; ++i) grad[i] = T(std::exp(double(z[i]) - m) / s);
    grad[y] -= T(1);
    return m + std::log(s) - double(z[y]);
  }
  const std::array<int, 4> pi = top4(z, c);
  const int other = loss == ApgdLoss::dlr ? (pi[0] == y ? pi[1] : pi[0]) : t;
  const double n = double(z[y]) - double(z[other]);
  const double lower = loss == ApgdLoss::dlr ? double(z[pi[2]]) : 0.5 * (double(z[pi[2]]) + double(z[pi[3]]));
  const double s = double(z[pi[0]]) - lower + 1e-12;
  std::fill(grad, grad + c, T(0));
  grad[y] -= T(1 / s);
  grad[other] += T(1 / s);
  const double r = n / (s * s);  // d(-n/s)/ds = n / s^2
  grad[pi[0]] += T(r);
  if (loss == ApgdLoss::dlr) {
    grad[pi[2]] -= T(r);
  } else {
    grad[pi[2]] -= T(r / 2);
    grad[pi[3]] -= T(r / 2);
  }
  return -n / s;
}

}  // namespace detail
}  // namespace farbound
