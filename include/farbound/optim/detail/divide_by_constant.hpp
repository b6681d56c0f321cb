#pragma once
// x / c, bit for bit as the division, without a division.
//
// Adam's update on AVX-512 is bound by the divider (two divisions and a square root per
// vector, as PyTorch's rule has them). One of the divisions is by a constant of the step,
// c = sqrt(1 - beta2^t), and that one can go: q = x r with r = 1 / c correctly rounded, then
// Markstein's correction q + (x - q c) r, which is the correctly rounded quotient whenever r
// is, the residual x - q c is exact and nothing under- or overflows (Markstein 1990; see
// also the Handbook of Floating-Point Arithmetic on FMA-based division).
//
// The caller's promise: x is 0, +inf, or at least sqrt(smallest subnormal) (2^-75 in float),
// and c lies in (0, 1]; then the residual, about x 2^-24 at the least, stays normal.
// Adam's x = sqrt(v) keeps it. An infinite x (v overflowed) is passed through, as the
// division would give it, instead of the correction's inf - inf.
#include <cmath>
#include <type_traits>

#include "farbound/core/simd.hpp"

namespace farbound::detail {

// x / c for a batch or a scalar, given inverse_c = 1 / c rounded correctly. AVX-512 targets
// only: on AVX2 the division itself was faster (Zen 3, Adam over 61 706 floats: 34.0-35.9 us
// against 37.8-40.4 with the product; docs/performance.md), and targets without a fused
// multiply-add instruction must divide anyway: xsimd's fma there rounds the product first,
// and the correction would no longer be exact.
template <class V, class T>
V divide_by_constant(const V& x, T c, T inverse_c) {
#if defined(__AVX512F__)
  const V q = x * V(inverse_c);
  const V corrected = simd::fused_multiply_add(simd::fused_multiply_add(-q, V(c), x), V(inverse_c), q);
  if constexpr (std::is_floating_point_v<V>)
    return std::isinf(x) ? x : corrected;
  else
    return xsimd::select(xsimd::isinf(x), x, corrected);
#else
  (void)inverse_c;
  return x / V(c);
#endif
}

}  // namespace farbound::detail
