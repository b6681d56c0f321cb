#pragma once
// The lane types of detail/lanes.hpp's kernels: one element (ScalarLanes), an xsimd batch
// (BatchLanes), and on AVX and AVX-512 a row's last, partial register of floats (PartialLanes).
// A kernel body reaches them through the value it is given: lanes.load(p), L::vec, L::width.
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "farbound/core/exp.hpp"
#include "farbound/core/host_device.hpp"
#include "farbound/detail/avx_row_ends.hpp"

namespace farbound::detail {

template <class T>
struct ScalarLanes {
  using value_type = T;
  using vec = T;
  static constexpr std::size_t width = 1;
  FARBOUND_HOST_DEVICE static vec load(const T* p) { return *p; }
  FARBOUND_HOST_DEVICE static void store(vec v, T* p) { *p = v; }
  FARBOUND_HOST_DEVICE static vec softmax_exp(vec v) { return std::exp(v); }
  FARBOUND_HOST_DEVICE static T sum(vec v) { return v; }
  FARBOUND_HOST_DEVICE static vec without_lane(vec, std::size_t) { return T(0); }
  FARBOUND_HOST_DEVICE static void prefetch(const T*) {}
};

template <class Batch>
struct BatchLanes {
  using value_type = typename Batch::value_type;
  using vec = Batch;
  static constexpr std::size_t width = Batch::size;
  // Whether vec is one AVX-512 (AVX) register of U (its register type's attributes keep it
  // out of std::is_same).
  template <class U>
  static constexpr bool is_zmm = std::is_same_v<value_type, U> && sizeof(vec) == 64;
  template <class U>
  static constexpr bool is_ymm = std::is_same_v<value_type, U> && sizeof(vec) == 32;
  static vec load(const value_type* p) { return Batch::load_unaligned(p); }
  static void store(vec v, value_type* p) { v.store_unaligned(p); }
  // exp(v) for lanes <= 0, a softmax's exp(z - max z) (core/exp.hpp's softmax_exp).
  static vec softmax_exp(vec v) { return simd::softmax_exp(v); }
  static value_type sum(vec v) { return xsimd::hadd(v); }
  static value_type max_lane(vec v) {
#if defined(__AVX512F__)
    // Shuffles instead of a scan of the lanes through memory (a maximum is exact in any order).
    if constexpr (is_zmm<float>) return _mm512_reduce_max_ps(v);
    if constexpr (is_zmm<double>) return _mm512_reduce_max_pd(v);
#endif
#if defined(__AVX__)
    // The upper half's maximum into the lower half until one lane is left, in registers (a
    // scan of the lanes through memory waited on the store's forwarding).
    if constexpr (is_ymm<float>) {
      __m256 m = _mm256_max_ps(v, _mm256_permute2f128_ps(v, v, 1));
      m = _mm256_max_ps(m, _mm256_permute_ps(m, 0x4e));
      return _mm256_cvtss_f32(_mm256_max_ps(m, _mm256_permute_ps(m, 0xb1)));
    }
    if constexpr (is_ymm<double>) {
      const __m256d m = _mm256_max_pd(v, _mm256_permute2f128_pd(v, v, 1));
      return _mm256_cvtsd_f64(_mm256_max_pd(m, _mm256_permute_pd(m, 0x5)));
    }
#endif
    alignas(64) value_type lanes[width];
    v.store_aligned(lanes);
    return *std::max_element(lanes, lanes + width);
  }
  // v with lane i set to +0, in registers (a store of the zero and a reload of the block
  // would stall on the store's forwarding).
  static vec without_lane(vec v, std::size_t i) {
#if defined(__AVX512F__)
    if constexpr (is_zmm<float>) return _mm512_maskz_mov_ps(__mmask16(~(1u << i)), v);
    if constexpr (is_zmm<double>) return _mm512_maskz_mov_pd(__mmask8(~(1u << i)), v);
#endif
    return xsimd::select(lane_indices() == vec(value_type(i)), vec(value_type(0)), v);
  }
  // The first lane where `hits` holds (width if none).
  static std::size_t first_lane(typename vec::batch_bool_type hits) {
    using mask_register = typename vec::batch_bool_type::register_type;
    // AVX-512's comparisons give a bit mask (__mmask16); the others give a vector of lanes.
    // (64 bits for the sentinel: a mask of 32 lanes would shift a 32-bit one out of range.)
    const auto first = [](std::uint64_t bits) { return std::size_t(std::countr_zero(bits | (std::uint64_t(1) << width))); };
    if constexpr (sizeof(mask_register) <= sizeof(std::uint32_t)) return first(std::uint64_t(mask_register(hits)));
#if defined(__AVX__)
    // AVX's vectors of lanes to bits by movemask.
    if constexpr (is_ymm<float>) return first(std::uint64_t(_mm256_movemask_ps(mask_register(hits))));
    if constexpr (is_ymm<double>) return first(std::uint64_t(_mm256_movemask_pd(mask_register(hits))));
#endif
    alignas(64) bool lanes[width];
    hits.store_aligned(lanes);
    return std::size_t(std::find(lanes, lanes + width, true) - lanes);
  }
  // Lane l holds l (exact as a float: width <= 64).
  static vec lane_indices() {
    alignas(64) static constexpr auto indices = [] {
      std::array<value_type, width> lanes{};
      for (std::size_t l = 0; l < width; ++l) lanes[l] = value_type(l);
      return lanes;
    }();
    return vec::load_aligned(indices.data());
  }
  // Asks for the cache line at p in L2 (prefetcht1): for data the next call will use.
  static void prefetch(const value_type* p) { __builtin_prefetch(p, 0, 2); }
};

#if defined(__AVX512F__)
// Lanes [0, m) of an AVX-512 register of floats, 0 < m < 16: a row's last, partial block
// with the arithmetic of a whole register, loaded with zeros past the row and stored under
// the same mask (one instruction each). Its lanes past m hold no element of the row; the
// walkers' sums leave them out (kept). A kernel body reaches its loads and stores through
// the lane value it is given (lanes.load(p)), which carries the mask.
struct PartialLanes : BatchLanes<xsimd::batch<float>> {
  explicit PartialLanes(std::size_t count) : bits(__mmask16((1u << count) - 1)) {}
  vec load(const float* p) const { return vec(_mm512_maskz_loadu_ps(bits, p)); }
  void store(vec v, float* p) const { _mm512_mask_storeu_ps(p, bits, v); }
  vec kept(vec v) const { return vec(_mm512_maskz_mov_ps(bits, v)); }
  __mmask16 bits;
};
#elif defined(__AVX__)
// Lanes [0, m) of an AVX register of floats, 0 < m < 8: a row's last, partial block with the
// arithmetic of a whole register, loaded by vmaskmovps (zeros past the row) and stored by a
// ladder (avx_row_ends.hpp). Its lanes past m hold no element of the row; the walkers' sums
// leave them out (kept). A kernel body reaches its loads and stores through the lane value
// it is given (lanes.load(p)), which carries m.
struct PartialLanes : BatchLanes<xsimd::batch<float>> {
  explicit PartialLanes(std::size_t count) : m(std::int64_t(count)), bits(first_lanes_bits(m)) {}
  vec load(const float* p) const { return vec(_mm256_maskload_ps(p, bits)); }
  void store(vec v, float* p) const { store_first(p, v, m); }
  vec kept(vec v) const { return vec(_mm256_and_ps(v, _mm256_castsi256_ps(bits))); }
  std::int64_t m;
  __m256i bits;
};
#endif

}  // namespace farbound::detail
