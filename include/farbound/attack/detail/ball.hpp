#pragma once
// The feasible set of a bounded attack: the eps-ball around the clean item x0 intersected
// with the input box. Every iterate of PGD, APGD and Square is put back into it with
//   L-inf:  x_j <- clip_bounds( clip_[x0_j - eps, x0_j + eps](x_j) )   (the exact projection)
//   L2:     x   <- clip_bounds( x0 + (x - x0) * min(1, eps / ||x - x0||_2) )
// Clipping to the bounds after the ball never leaves the ball: x0 is inside the bounds, so
// clipping only shortens every coordinate of x - x0.
#include <algorithm>
#include <cstdint>

#include "farbound/attack/bounds.hpp"
#include "farbound/attack/norm.hpp"

namespace farbound::detail {

template <class T>
void clip_to_bounds(T* x, std::int64_t d, const Bounds& bounds) {
  const T lo = T(bounds.lower), hi = T(bounds.upper);
  for (std::int64_t j = 0; j < d; ++j) x[j] = std::clamp(x[j], lo, hi);
}

// x <- the point of the feasible set described above, for the item x0 of d numbers.
template <class T>
void project_to_ball(const T* x0, T* x, std::int64_t d, Norm norm, double eps, const Bounds& bounds) {
  if (norm == Norm::linf) {
    const T e = T(eps);
    for (std::int64_t j = 0; j < d; ++j) x[j] = std::clamp(x[j], x0[j] - e, x0[j] + e);
  } else {
    const double dn = distance(x, x0, d, Norm::l2);
    if (dn > eps) {
      const T factor = T(eps / dn);
      for (std::int64_t j = 0; j < d; ++j) x[j] = x0[j] + (x[j] - x0[j]) * factor;
    }
  }
  clip_to_bounds(x, d, bounds);
}

}  // namespace farbound::detail
