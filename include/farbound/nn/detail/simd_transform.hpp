#pragma once
// out[i] = f(a[i], b[i], ...) over contiguous arrays, on xsimd batches, in parallel.
//
// The array is cut into fixed chunks of `transform_chunk` elements (a multiple of every
// SIMD width), so chunk boundaries depend only on n and every element goes through the
// same code whatever the thread count. The last partial batch of the array is zero-padded
// into a full batch, so f is written once, for batches only, and the tail gets exactly the
// arithmetic of the body.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "farbound/core/parallel.hpp"
#include "farbound/core/simd.hpp"

namespace farbound::detail {

inline constexpr std::int64_t transform_chunk = 16384;

// The first n < width elements of p as a batch, the other lanes zero.
template <class T>
simd::batch<T> load_partial(const T* p, std::size_t n) {
  alignas(64) T lanes[simd::width<T>] = {};
  std::copy_n(p, n, lanes);
  return simd::batch<T>::load_aligned(lanes);
}

// Stores the first n < width lanes of v at p.
template <class T>
void store_partial(const simd::batch<T>& v, T* p, std::size_t n) {
  alignas(64) T lanes[simd::width<T>];
  v.store_aligned(lanes);
  std::copy_n(lanes, n, p);
}

// out[i] = f(in[i]...) for i in [0, n); f maps batches to a batch. `out` may alias an input.
template <class T, class F, class... In>
void simd_transform(std::int64_t n, F f, T* out, const In*... in) {
  constexpr auto w = static_cast<std::int64_t>(simd::width<T>);
  static_assert(transform_chunk % w == 0, "chunks must hold whole batches");
  parallel_chunks(n, transform_chunk, [&](std::int64_t begin, std::int64_t end) {
    // The arrays as the inner call's parameters rather than through the closure's
    // references: xsimd's unaligned store may alias anything, so GCC loaded every pointer
    // again after each batch's store (two loads per array per batch).
    [&f, begin, end](T* o, const In*... x) {
      std::int64_t i = begin;
      for (; i + w <= end; i += w) f(simd::batch<T>::load_unaligned(x + i)...).store_unaligned(o + i);
      if (i < end) {
        const auto rest = static_cast<std::size_t>(end - i);
        store_partial(f(load_partial(x + i, rest)...), o + i, rest);
      }
    }(out, in...);
  });
}

}  // namespace farbound::detail
