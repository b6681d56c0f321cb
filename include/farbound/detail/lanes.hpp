#pragma once
// Kernels written once over "lanes", run either one element at a time (the scalar
// reference) or on xsimd batches.
//
// A kernel body is a generic callable f(L, c) that processes elements [c, c + L::width) of a
// row through the lane type L: L::vec is T for ScalarLanes and an xsimd batch for
// BatchLanes, and L's static functions are the handful of operations the arithmetic
// operators do not cover. A walker calls f over [0, n):
//   ScalarBlocks: one element at a time, std::exp: the reference, and host-device code, so
//                 the CUDA kernels run it too (on the device std::exp is CUDA's exp).
//   SimdBlocks:   whole batches of the widest register, then at most one batch of each
//                 narrower width the target has (on AVX-512: 16, then 8, then 4 floats),
//                 then single elements. Short rows, such as 10 logits, still run mostly in
//                 registers instead of falling entirely into a scalar tail.
// The order of blocks depends only on n, so every result is deterministic.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "farbound/core/host_device.hpp"

namespace farbound::detail {

template <class T>
struct ScalarLanes {
  using value_type = T;
  using vec = T;
  static constexpr std::size_t width = 1;
  FARBOUND_HOST_DEVICE static vec load(const T* p) { return *p; }
  FARBOUND_HOST_DEVICE static void store(vec v, T* p) { *p = v; }
  FARBOUND_HOST_DEVICE static vec exp(vec v) { return std::exp(v); }
  FARBOUND_HOST_DEVICE static vec max(vec a, vec b) { return std::max(a, b); }
  FARBOUND_HOST_DEVICE static T sum(vec v) { return v; }
  FARBOUND_HOST_DEVICE static T max_lane(vec v) { return v; }
};

template <class Batch>
struct BatchLanes {
  using value_type = typename Batch::value_type;
  using vec = Batch;
  static constexpr std::size_t width = Batch::size;
  static vec load(const value_type* p) { return Batch::load_unaligned(p); }
  static void store(vec v, value_type* p) { v.store_unaligned(p); }
  static vec exp(vec v) { return xsimd::exp(v); }
  static vec max(vec a, vec b) { return xsimd::max(a, b); }
  static value_type sum(vec v) { return xsimd::hadd(v); }
  static value_type max_lane(vec v) {
    alignas(64) value_type lanes[width];
    v.store_aligned(lanes);
    return *std::max_element(lanes, lanes + width);
  }
};

struct ScalarBlocks {
  template <class T, class F>
  FARBOUND_HOST_DEVICE static void for_each(std::size_t n, F&& f) {
    for (std::size_t c = 0; c < n; ++c) f(ScalarLanes<T>{}, c);
  }
  // The sum and the largest of f(L, c) over the blocks (f returns an L::vec).
  template <class T, class F>
  FARBOUND_HOST_DEVICE static T sum(std::size_t n, F&& f) {
    T total = 0;
    for (std::size_t c = 0; c < n; ++c) total += f(ScalarLanes<T>{}, c);
    return total;
  }
  template <class T, class F>
  FARBOUND_HOST_DEVICE static T max(std::size_t n, F&& f) {
    T largest = -std::numeric_limits<T>::infinity();
    for (std::size_t c = 0; c < n; ++c) largest = std::max(largest, f(ScalarLanes<T>{}, c));
    return largest;
  }
};

struct SimdBlocks {
  template <class T, class F>
  FARBOUND_HOST_DEVICE static void for_each(std::size_t n, F&& f) {
#if defined(__CUDA_ARCH__)
    // nvcc's device pass also compiles the host-device kernels that a host caller
    // instantiates with SimdBlocks, and xsimd registers do not exist on the device. That
    // code never runs there; it only has to compile.
    for (std::size_t c = 0; c < n; ++c) f(ScalarLanes<T>{}, c);
#else
    using widest = xsimd::batch<T>;
    std::size_t c = 0;
    for (; c + widest::size <= n; c += widest::size) f(BatchLanes<widest>{}, c);
    tail<T, widest::size / 2>(c, n, f);
#endif
  }

  // The sum and the largest of f(L, c) over the blocks (f returns an L::vec). The widest
  // batches accumulate lane-wise and are reduced once at the end; a reduction per block
  // (a horizontal add or a scan of the lanes) would cost as much as the exp in it.
  template <class T, class F>
  FARBOUND_HOST_DEVICE static T sum(std::size_t n, F&& f) {
#if defined(__CUDA_ARCH__)
    return ScalarBlocks::sum<T>(n, f);
#else
    using widest = xsimd::batch<T>;
    widest lanes(T(0));
    std::size_t c = 0;
    for (; c + widest::size <= n; c += widest::size) lanes += f(BatchLanes<widest>{}, c);
    T total = xsimd::hadd(lanes);
    auto add = [&]<class L>(L, std::size_t i) { total += L::sum(f(L{}, i)); };
    tail<T, widest::size / 2>(c, n, add);
    return total;
#endif
  }
  template <class T, class F>
  FARBOUND_HOST_DEVICE static T max(std::size_t n, F&& f) {
#if defined(__CUDA_ARCH__)
    return ScalarBlocks::max<T>(n, f);
#else
    using widest = xsimd::batch<T>;
    widest lanes(-std::numeric_limits<T>::infinity());
    std::size_t c = 0;
    for (; c + widest::size <= n; c += widest::size) lanes = xsimd::max(lanes, f(BatchLanes<widest>{}, c));
    T largest = BatchLanes<widest>::max_lane(lanes);
    auto larger = [&]<class L>(L, std::size_t i) { largest = std::max(largest, L::max_lane(f(L{}, i))); };
    tail<T, widest::size / 2>(c, n, larger);
    return largest;
#endif
  }

 private:
  // After the widest batches fewer than 2W elements remain at each step, so one batch of
  // width W at most; widths the target lacks (make_sized_batch_t is void) are skipped.
  template <class T, std::size_t W, class F>
  static void tail(std::size_t c, std::size_t n, F& f) {
    if constexpr (W <= 1) {
      for (; c < n; ++c) f(ScalarLanes<T>{}, c);
    } else {
      using narrower = xsimd::make_sized_batch_t<T, W>;
      if constexpr (!std::is_void_v<narrower>) {
        if (c + W <= n) {
          f(BatchLanes<narrower>{}, c);
          c += W;
        }
      }
      tail<T, W / 2>(c, n, f);
    }
  }
};

}  // namespace farbound::detail
