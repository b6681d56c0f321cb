#pragma once
// One Gaussian neighbour in one pass, for the CPU and the GPU alike:
// out = x + sigma N(0, I) and r = ||out - x||^2, from RandomStream s's normal numbers.
//
// The CPU path (Neighbours<GaussianNoise>::fill: GaussianNoise::apply, vectorised, then
// the distance) and the CUDA kernel (cuda/neighbours.cuh: one thread per neighbour, this
// function) produce the same bits for the same key (seed, purpose, epoch, anchor id,
// neighbour index): both take number j from box_muller4, round x + sigma z_j to T once
// (add_scaled_normal) and sum (out_j - x_j)^2 in double in the order j = 0, 1, ... with fma
// (accumulate_squared_distance), so no compiler contraction can tell them apart.
#include <cmath>
#include <cstddef>

#include "farbound/core/box_muller.hpp"
#include "farbound/core/host_device.hpp"
#include "farbound/core/random.hpp"

namespace farbound {

// x + scale z, computed in double and rounded to T once.
template <class T>
FARBOUND_HOST_DEVICE T add_scaled_normal(T x, double z, double scale) {
  using std::fma;
  return T(fma(z, scale, double(x)));
}

// squares + sum_j (b_j - a_j)^2 over j = 0 .. n-1 in that order, in double.
template <class T>
FARBOUND_HOST_DEVICE double accumulate_squared_distance(const T* a, const T* b, std::size_t n, double squares) {
  using std::fma;
  for (std::size_t j = 0; j < n; ++j) {
    const double d = double(b[j]) - double(a[j]);
    squares = fma(d, d, squares);
  }
  return squares;
}

// out[0 .. n) = x + sigma z (z: the stream's first n normal numbers); returns ||out - x||^2.
// out must not overlap x.
template <class T>
FARBOUND_HOST_DEVICE double gaussian_neighbour_row(const RandomStream& s, const T* x, T* out, std::size_t n,
                                                   double sigma) {
  double squares = 0;
  for (std::size_t first = 0; first < n; first += 4) {
    const auto z = box_muller4(s.block(first / 4));
    const std::size_t count = n - first < 4 ? n - first : 4;
    for (std::size_t j = 0; j < count; ++j) out[first + j] = add_scaled_normal(x[first + j], z[j], sigma);
    squares = accumulate_squared_distance(x + first, out + first, count, squares);
  }
  return squares;
}

}  // namespace farbound
