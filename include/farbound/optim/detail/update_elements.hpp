#pragma once
// One element-wise update rule, run over whole SIMD batches and then a scalar tail.
//
// An optimiser writes its rule once, as a generic lambda
//   op(V& value, const V& grad, std::array<V, N>& state)
// that is called with V = xsimd::batch<T> for full batches and V = T for the tail, so the
// vector and scalar paths cannot drift apart. xsimd's functions (sqrt, ...) accept both.
#include <array>
#include <cstddef>

#include "farbound/core/simd.hpp"

namespace farbound::detail {

template <std::size_t N, class T, class Op>
void update_elements(std::size_t n, T* value, const T* grad, const std::array<T*, N>& state, Op&& op) {
  using B = simd::batch<T>;
  constexpr std::size_t w = simd::width<T>;
  std::size_t i = 0;
  for (; i + w <= n; i += w) {
    B p = B::load_unaligned(value + i);
    const B g = B::load_unaligned(grad + i);
    std::array<B, N> s;
    for (std::size_t k = 0; k < N; ++k) s[k] = B::load_unaligned(state[k] + i);
    op(p, g, s);
    p.store_unaligned(value + i);
    for (std::size_t k = 0; k < N; ++k) s[k].store_unaligned(state[k] + i);
  }
  for (; i < n; ++i) {
    std::array<T, N> s;
    for (std::size_t k = 0; k < N; ++k) s[k] = state[k][i];
    op(value[i], grad[i], s);
    for (std::size_t k = 0; k < N; ++k) state[k][i] = s[k];
  }
}

}  // namespace farbound::detail
