#pragma once
// Vectorised helpers over contiguous arrays (xsimd, the widest instruction set the
// compiler targets), with the same results as the plain loops up to rounding.
// Each processes whole SIMD batches, then a scalar tail.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "farbound/core/exp.hpp"
#include "farbound/core/fused.hpp"

namespace farbound::simd {

// A SIMD register of T for the build's target architecture (xsimd).
template <class T>
using batch = xsimd::batch<T>;

// Lanes of a batch<T>.
template <class T>
inline constexpr std::size_t width = batch<T>::size;

// sum_i x[i] * y[i]
template <class T>
T dot(const T* x, const T* y, std::size_t n) {
  constexpr std::size_t w = width<T>;
  batch<T> acc0(T(0)), acc1(T(0));
  std::size_t i = 0;
  for (; i + 2 * w <= n; i += 2 * w) {
    acc0 = xsimd::fma(batch<T>::load_unaligned(x + i), batch<T>::load_unaligned(y + i), acc0);
    acc1 = xsimd::fma(batch<T>::load_unaligned(x + i + w), batch<T>::load_unaligned(y + i + w), acc1);
  }
  for (; i + w <= n; i += w) acc0 = xsimd::fma(batch<T>::load_unaligned(x + i), batch<T>::load_unaligned(y + i), acc0);
  T s = xsimd::hadd(acc0 + acc1);
  for (; i < n; ++i) s += x[i] * y[i];
  return s;
}

// y[i] += a * x[i]
template <class T>
void axpy(T a, const T* x, T* y, std::size_t n) {
  constexpr std::size_t w = width<T>;
  const batch<T> av(a);
  std::size_t i = 0;
  for (; i + w <= n; i += w)
    xsimd::fma(av, batch<T>::load_unaligned(x + i), batch<T>::load_unaligned(y + i)).store_unaligned(y + i);
  for (; i < n; ++i) y[i] += a * x[i];
}

// sum_i x[i]
template <class T>
T sum(const T* x, std::size_t n) {
  constexpr std::size_t w = width<T>;
  batch<T> acc(T(0));
  std::size_t i = 0;
  for (; i + w <= n; i += w) acc += batch<T>::load_unaligned(x + i);
  T s = xsimd::hadd(acc);
  for (; i < n; ++i) s += x[i];
  return s;
}

// max_i x[i]; -inf for n = 0.
template <class T>
T max(const T* x, std::size_t n) {
  constexpr std::size_t w = width<T>;
  T m = -std::numeric_limits<T>::infinity();
  std::size_t i = 0;
  if (n >= w) {
    batch<T> acc = batch<T>::load_unaligned(x);
    for (i = w; i + w <= n; i += w) acc = xsimd::max(acc, batch<T>::load_unaligned(x + i));
    alignas(64) T lanes[w];
    acc.store_aligned(lanes);
    m = *std::max_element(lanes, lanes + w);
  }
  for (; i < n; ++i) m = std::max(m, x[i]);
  return m;
}

// y[i] = exp(x[i] - shift); returns sum_i y[i]. For a softmax, shift = max x: the arguments
// are then <= 0, exp_nonpositive's range.
template <class T>
T exp_shifted(const T* x, T shift, T* y, std::size_t n) {
  constexpr std::size_t w = width<T>;
  const batch<T> sv(shift);
  batch<T> acc(T(0));
  std::size_t i = 0;
  for (; i + w <= n; i += w) {
    const batch<T> e = exp_nonpositive(batch<T>::load_unaligned(x + i) - sv);
    e.store_unaligned(y + i);
    acc += e;
  }
  T s = xsimd::hadd(acc);
  for (; i < n; ++i) s += (y[i] = std::exp(x[i] - shift));
  return s;
}

// x[i] *= a
template <class T>
void scale(T a, T* x, std::size_t n) {
  constexpr std::size_t w = width<T>;
  const batch<T> av(a);
  std::size_t i = 0;
  for (; i + w <= n; i += w) (av * batch<T>::load_unaligned(x + i)).store_unaligned(x + i);
  for (; i < n; ++i) x[i] *= a;
}

}  // namespace farbound::simd
