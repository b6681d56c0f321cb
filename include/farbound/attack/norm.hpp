#pragma once
// The norm an attack bounds or minimises its perturbation in: L2 or L-infinity, taken over
// the flattened input item. Each has a dual norm (L2 <-> L2, L-inf <-> L1): the first-order
// change of a function g.x + b over a unit ball of the norm is the dual norm of g, which is
// what DeepFool divides by.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

namespace farbound {

// The norm an attack's radius is measured in.
enum class Norm { l2, linf };

// "L2" or "Linf", as the reports print it.
inline std::string to_string(Norm n) { return n == Norm::l2 ? "L2" : "Linf"; }

namespace detail {

// ||v|| over n elements, accumulated in double.
template <class T>
double norm_of(const T* v, std::int64_t n, Norm norm) {
  double acc = 0;
  if (norm == Norm::l2) {
    for (std::int64_t i = 0; i < n; ++i) acc += double(v[i]) * double(v[i]);
    return std::sqrt(acc);
  }
  for (std::int64_t i = 0; i < n; ++i) acc = std::max(acc, std::abs(double(v[i])));
  return acc;
}

// ||a - b|| over n elements, accumulated in double.
template <class T>
double distance(const T* a, const T* b, std::int64_t n, Norm norm) {
  double acc = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const double d = double(a[i]) - double(b[i]);
    acc = norm == Norm::l2 ? acc + d * d : std::max(acc, std::abs(d));
  }
  return norm == Norm::l2 ? std::sqrt(acc) : acc;
}

// The dual norm of v: ||v||_2 for L2, ||v||_1 for L-inf.
template <class T>
double dual_norm_of(const T* v, std::int64_t n, Norm norm) {
  if (norm == Norm::l2) return norm_of(v, n, Norm::l2);
  double acc = 0;
  for (std::int64_t i = 0; i < n; ++i) acc += std::abs(double(v[i]));
  return acc;
}

}  // namespace detail
}  // namespace farbound
