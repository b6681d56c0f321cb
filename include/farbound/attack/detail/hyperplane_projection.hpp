#pragma once
// The smallest step from a point t onto a hyperplane w.x = b that stays in the box
// [lo, hi]^D, in L-inf or L2: the projection FAB takes towards the linearised boundary.
//
// Orient the plane so that c = w.t - b >= 0; the step d must lower w.x by c. Coordinate j
// can move against sign(w_j) by at most room_j = t_j - lo (w_j > 0) or hi - t_j (w_j < 0).
// The minimiser of ||d|| (L-inf, or L2 by the KKT conditions) for a multiplier lambda >= 0 is
//   |d_j| = min(lambda s_j, room_j),  s_j = 1 (L-inf) or |w_j| (L2),  d_j against sign(w_j)
// and the decrease g(lambda) = sum_j |w_j| min(lambda s_j, room_j) is piecewise linear and
// increasing, with a kink at beta_j = room_j / s_j. Between two kinks,
// g(lambda) = F + lambda S on each piece (F: the coordinates already at their room, S: the
// slope of the others), and lambda = (c - F) / S on the piece where g reaches c. When even
// every coordinate at its room does not reach the plane, the step goes as far as the box
// allows.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "farbound/attack/norm.hpp"

namespace farbound::detail {

// d = the step from t [n] onto {x : w.x = b} within [lo, hi]^n; `kinks` is scratch.
//
// The piece where g reaches c is found by selection instead of a sort (FAB projects twice per
// item and step, and sorting the D kinks was its largest cost): a pivot kink p splits the
// kinks still in question; if g(p) >= c the crossing lies at or below p and the kinks above p
// join the slope S, else those up to p join F. Expected O(D); lambda = (c - F) / S at the end.
template <class T>
void project_onto_hyperplane(const T* t, const T* w, double b, std::int64_t n, Norm norm, double lo, double hi,
                             T* d, std::vector<std::pair<double, std::int64_t>>& kinks) {
  double c = -b;
  for (std::int64_t j = 0; j < n; ++j) c += double(w[j]) * double(t[j]);
  const double orient = c >= 0 ? 1.0 : -1.0;
  c = std::abs(c);
  // Coordinate j, oriented: weight a_j = |w_j|, its room, its scale s_j.
  const auto weight = [&](std::int64_t j) { return std::abs(double(w[j])); };
  const auto room = [&](std::int64_t j) { return orient * double(w[j]) > 0 ? double(t[j]) - lo : hi - double(t[j]); };
  const auto scale = [&](std::int64_t j) { return norm == Norm::linf ? 1.0 : weight(j); };
  kinks.clear();
  for (std::int64_t j = 0; j < n; ++j)
    if (weight(j) > 0) kinks.emplace_back(room(j) / scale(j), j);
  double fixed = 0, slope = 0;
  std::size_t first = 0, last = kinks.size();
  while (first < last) {
    const std::size_t mid = first + (last - first) / 2;
    std::nth_element(kinks.begin() + std::ptrdiff_t(first), kinks.begin() + std::ptrdiff_t(mid),
                     kinks.begin() + std::ptrdiff_t(last));
    double below = 0, above = 0;
    for (std::size_t i = first; i <= mid; ++i) below += weight(kinks[i].second) * room(kinks[i].second);
    for (std::size_t i = mid + 1; i < last; ++i) above += weight(kinks[i].second) * scale(kinks[i].second);
    if (fixed + below + kinks[mid].first * (slope + above) >= c) {
      slope += above + weight(kinks[mid].second) * scale(kinks[mid].second);
      last = mid;
    } else {
      fixed += below;
      first = mid + 1;
    }
  }
  const double lambda = slope > 0 ? (c - fixed) / slope : INFINITY;
  for (std::int64_t j = 0; j < n; ++j) {
    const double step = weight(j) > 0 ? std::min(lambda * scale(j), room(j)) : 0.0;
    d[j] = T(orient * double(w[j]) > 0 ? -step : step);
  }
}

}  // namespace farbound::detail
