#pragma once
// Fused multiply-adds on xsimd batches and scalars alike, so that one rule serves a loop's
// batches and its scalar tail: one rounding on scalars (std::fma) and on batches where the
// target has FMA instructions (AVX2, AVX-512; on SSE2 xsimd's generic forms round twice).
// xsimd 8.1 has no AVX-512 kernels for them: its generic fma is a * b + c, fused only when
// the optimiser contracts it (not at -O1, say), and its fnma is (0 - a) * b + c, a
// subtraction from zero more (which GCC may not drop: 0 - a is +0 where -a is -0). On
// AVX-512 these call the instructions directly.
#include <cmath>
#include <type_traits>

#include <xsimd/xsimd.hpp>

namespace farbound::simd {

// a * b + c
template <class V>
V fused_multiply_add(const V& a, const V& b, const V& c) {
  if constexpr (std::is_floating_point_v<V>) {
    return std::fma(a, b, c);
  } else {
#if XSIMD_WITH_AVX512F
    if constexpr (std::is_base_of_v<xsimd::avx512f, typename V::arch_type>) {
      if constexpr (std::is_same_v<typename V::value_type, float>) return _mm512_fmadd_ps(a, b, c);
      else return _mm512_fmadd_pd(a, b, c);
    }
#endif
    return xsimd::fma(a, b, c);
  }
}

// c - a * b, the bits of fused_multiply_add(-a, b, c)
template <class V>
V fused_negated_multiply_add(const V& a, const V& b, const V& c) {
  if constexpr (std::is_floating_point_v<V>) {
    return std::fma(-a, b, c);
  } else {
#if XSIMD_WITH_AVX512F
    if constexpr (std::is_base_of_v<xsimd::avx512f, typename V::arch_type>) {
      if constexpr (std::is_same_v<typename V::value_type, float>) return _mm512_fnmadd_ps(a, b, c);
      else return _mm512_fnmadd_pd(a, b, c);
    }
#endif
    return xsimd::fnma(a, b, c);
  }
}

}  // namespace farbound::simd
