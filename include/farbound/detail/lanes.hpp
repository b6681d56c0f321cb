#pragma once
// Kernels written once over "lanes", run either one element at a time (the scalar
// reference) or on xsimd batches.
//
// A kernel body is a generic callable f(lanes, c) that processes elements [c, c + L::width)
// of a row through a lane value of type L: L::vec is T for ScalarLanes and an xsimd batch
// for BatchLanes, and L's functions are the handful of operations the arithmetic operators
// do not cover, loads and stores through the value (lanes.load(p)). A walker calls f over
// [0, n):
//   ScalarBlocks: one element at a time, std::exp: the reference, and host-device code, so
//                 the CUDA kernels run it too (on the device std::exp is CUDA's exp).
//   SimdBlocks:   whole batches of the widest register, then at most one batch of each
//                 narrower width the target has (doubles on AVX-512: 8, then 4, then 2),
//                 then single elements. Short rows, such as 10 logits, still run mostly in
//                 registers instead of falling entirely into a scalar tail. On floats the
//                 sums (on AVX and AVX-512) and for_each (on AVX-512) take a row's last,
//                 partial block as one register with masked loads and stores instead
//                 (PartialLanes).
// The order of blocks depends only on n, so every result is deterministic.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "farbound/core/host_device.hpp"
#include "farbound/detail/lane_types.hpp"

namespace farbound::detail {

// The reduction the walkers run: an identity, a step that combines two values of a lane
// type L (batches or scalars) and the reduction of one L::vec's lanes.
struct Sum {
  template <class T>
  FARBOUND_HOST_DEVICE static constexpr T identity() { return T(0); }
  template <class L>
  FARBOUND_HOST_DEVICE static typename L::vec combine(typename L::vec a, typename L::vec b) { return a + b; }
  template <class L>
  FARBOUND_HOST_DEVICE static typename L::value_type lanes(typename L::vec v) { return L::sum(v); }
};

// The largest value of a row and the first place it occurs (the walkers' max_at).
template <class T>
struct MaxAt {
  T value;
  std::size_t at;
};

// Two sums that sum_without keeps in one pass where its f returns a pair of vectors:
// `without` counts the skipped element as +0, `all` counts every element (the smoothness
// kernel's delta_k and s_k). Where f returns one vector, sum_without returns one sum.
template <class V>
struct SumPair {
  V without, all;
};
namespace sum_parts {
template <class V>
FARBOUND_HOST_DEVICE void add(V& total, const V& v) {
  total += v;
}
template <class V>
FARBOUND_HOST_DEVICE void add(SumPair<V>& total, const SumPair<V>& v) {
  total.without += v.without;
  total.all += v.all;
}
template <class L>
FARBOUND_HOST_DEVICE typename L::vec without_lane(typename L::vec v, std::size_t i) {
  return L::without_lane(v, i);
}
template <class L>
FARBOUND_HOST_DEVICE SumPair<typename L::vec> without_lane(const SumPair<typename L::vec>& v, std::size_t i) {
  return {L::without_lane(v.without, i), v.all};
}
template <class L>
typename L::vec kept(const L& lanes, typename L::vec v) {
  return lanes.kept(v);
}
template <class L>
SumPair<typename L::vec> kept(const L& lanes, const SumPair<typename L::vec>& v) {
  return {lanes.kept(v.without), lanes.kept(v.all)};
}
template <class L>
FARBOUND_HOST_DEVICE typename L::value_type lanes(typename L::vec v) {
  return L::sum(v);
}
template <class L>
FARBOUND_HOST_DEVICE SumPair<typename L::value_type> lanes(const SumPair<typename L::vec>& v) {
  return {L::sum(v.without), L::sum(v.all)};
}
}  // namespace sum_parts

struct ScalarBlocks {
  template <class T, class F>
  FARBOUND_HOST_DEVICE static void for_each(std::size_t n, F&& f) {
    for (std::size_t c = 0; c < n; ++c) f(ScalarLanes<T>{}, c);
  }
  // Op's reduction of f(L, c) over the blocks (f returns an L::vec; Op: Sum above).
  template <class Op, class T, class F>
  FARBOUND_HOST_DEVICE static T reduce(std::size_t n, F&& f) {
    T total = Op::template identity<T>();
    for (std::size_t c = 0; c < n; ++c) total = Op::template combine<ScalarLanes<T>>(total, f(ScalarLanes<T>{}, c));
    return total;
  }
  // The sum of f(L, c) over the blocks with element `skipped` counted as +0 (f is still
  // called for its block: it may store); where f returns a SumPair, a SumPair of sums.
  template <class T, class F>
  FARBOUND_HOST_DEVICE static auto sum_without(std::size_t n, std::size_t skipped, F&& f) {
    using L = ScalarLanes<T>;
    decltype(sum_parts::lanes<L>(f(L{}, 0))) total{};
    for (std::size_t c = 0; c < n; ++c) {
      const auto v = f(L{}, c);
      sum_parts::add(total, c == skipped ? sum_parts::without_lane<L>(v, 0) : v);
    }
    return total;
  }
  // The largest f(L, c) over [0, n) (f returns an L::vec) and the first c where it occurs
  // (in a row with NaNs, any place: its softmax is NaN whatever the place).
  template <class T, class F>
  FARBOUND_HOST_DEVICE static MaxAt<T> max_at(std::size_t n, F&& f) {
    MaxAt<T> best{-std::numeric_limits<T>::infinity(), 0};
    for (std::size_t c = 0; c < n; ++c)
      if (const T x = f(ScalarLanes<T>{}, c); x > best.value) best = {x, c};
    return best;
  }
  // The first c in [0, n) where holds(L, c) is true for element c (n if none); holds
  // returns a comparison of L::vecs.
  template <class T, class F>
  FARBOUND_HOST_DEVICE static std::size_t find_first(std::size_t n, F&& holds) {
    std::size_t c = 0;
    while (c < n && !holds(ScalarLanes<T>{}, c)) ++c;
    return c;
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
#if defined(__AVX512F__)
    // A masked store is one instruction here (on AVX2 a ladder, avx_row_ends.hpp).
    if constexpr (partial_lanes<T>) {
      if (c < n) f(PartialLanes(n - c), c);
      return;
    }
#endif
    tail<T, widest::size / 2>(c, n, f);
#endif
  }

  // Op's reduction of f(L, c) over the blocks (f returns an L::vec; Op: Sum above).
  // The widest batches combine lane-wise and their lanes are reduced once at the end; a
  // reduction per block (a horizontal add or a scan of the lanes) would cost as much as
  // the exp in it.
  template <class Op, class T, class F>
  FARBOUND_FORCE_INLINE FARBOUND_HOST_DEVICE static T reduce(std::size_t n, F&& f) {
#if defined(__CUDA_ARCH__)
    return ScalarBlocks::reduce<Op, T>(n, f);
#else
    using widest = BatchLanes<xsimd::batch<T>>;
    typename widest::vec lanes(Op::template identity<T>());
    std::size_t c = 0;
    for (; c + widest::width <= n; c += widest::width) lanes = Op::template combine<widest>(lanes, f(widest{}, c));
#if defined(__AVX__)
    if constexpr (partial_lanes<T>) {
      static_assert(std::is_same_v<Op, Sum>, "kept() leaves out lanes as zeros: Sum's identity");
      if (c < n) lanes = Op::template combine<widest>(lanes, last_block(f, c, n));
      return Op::template lanes<widest>(lanes);
    } else
#endif
    {
      T total = Op::template lanes<widest>(lanes);
      auto more = [&]<class L>(L, std::size_t i) {
        total = Op::template combine<ScalarLanes<T>>(total, Op::template lanes<L>(f(L{}, i)));
      };
      tail<T, widest::width / 2>(c, n, more);
      return total;
    }
#endif
  }

  // ScalarBlocks::sum_without in the order of reduce<Sum>, the same bits as a reduce whose
  // f zeroes `skipped` in its block (smoothness_kernel.hpp's zero-sum rows), without a test
  // of every block: the widest blocks run in three stretches, before, at and after the
  // skipped element's.
  template <class T, class F>
  FARBOUND_FORCE_INLINE FARBOUND_HOST_DEVICE static auto sum_without(std::size_t n, std::size_t skipped, F&& f) {
#if defined(__CUDA_ARCH__)
    return ScalarBlocks::sum_without<T>(n, skipped, f);
#else
    using widest = BatchLanes<xsimd::batch<T>>;
    using Value = decltype(f(widest{}, 0));
    const typename widest::vec zero(T(0));
    Value lanes;
    if constexpr (std::is_same_v<Value, typename widest::vec>) lanes = zero;
    else lanes = {zero, zero};
    const std::size_t whole = n / widest::width * widest::width;
    const std::size_t skipped_block = std::min(skipped / widest::width * widest::width, whole);
    std::size_t c = 0;
    for (; c < skipped_block; c += widest::width) sum_parts::add(lanes, f(widest{}, c));
    if (c < whole) {
      sum_parts::add(lanes, sum_parts::without_lane<widest>(f(widest{}, c), skipped - c));
      c += widest::width;
    }
    for (; c < whole; c += widest::width) sum_parts::add(lanes, f(widest{}, c));
#if defined(__AVX__)
    if constexpr (partial_lanes<T>) {
      if (c < n) {
        const auto v = last_block(f, c, n);
        sum_parts::add(lanes, skipped >= c && skipped < n ? sum_parts::without_lane<widest>(v, skipped - c) : v);
      }
      return sum_parts::lanes<widest>(lanes);
    } else
#endif
    {
      auto total = sum_parts::lanes<widest>(lanes);
      auto more = [&]<class L>(L, std::size_t i) {
        const auto v = f(L{}, i);
        sum_parts::add(total, sum_parts::lanes<L>(i <= skipped && skipped < i + L::width
                                                      ? sum_parts::without_lane<L>(v, skipped - i)
                                                      : v));
      };
      tail<T, widest::width / 2>(c, n, more);
      return total;
    }
#endif
  }

  // ScalarBlocks::max_at without a branch per block: each lane keeps its largest value and
  // the first block where it rose to it, and a row that is not whole blocks ends with its
  // last W elements again. (The smoothness kernel's softmax had tested each block of its
  // exponentials' pass until it found the place, a branch that went wrong about once a row:
  // with no search at all the kernel ran 12 % faster at C = 100, with this one 5 %.) The last
  // block's lanes see elements another lane saw before; a lane rises only
  // past its own largest, so every lane's place holds its largest value, and the first
  // largest element of the row is the first place in its own lane where that lane reached
  // it: the least place among the lanes that hold the row's maximum is the row's first.
  template <class T, class F>
  FARBOUND_HOST_DEVICE static MaxAt<T> max_at(std::size_t n, F&& f) {
#if defined(__CUDA_ARCH__)
    return ScalarBlocks::max_at<T>(n, f);
#else
    using widest = BatchLanes<xsimd::batch<T>>;
    using V = typename widest::vec;
    constexpr std::size_t W = widest::width;
    if (n < W) return ScalarBlocks::max_at<T>(n, f);
    V top(-std::numeric_limits<T>::infinity()), first_block(T(0)), block(T(0));  // block: c as a T
    const auto visit = [&](std::size_t c) {
      const V x = f(widest{}, c);
      first_block = xsimd::select(x > top, block, first_block);
      top = xsimd::max(top, x);
    };
    std::size_t c = 0;
    for (; c + W <= n; c += W, block += V(T(W))) visit(c);
    if (c < n) {
      block = V(T(n - W));
      visit(n - W);
    }
    const T largest = widest::max_lane(top);
    // Places are whole numbers below n, exact in T.
    const V places = xsimd::select(top == V(largest), first_block + widest::lane_indices(), V(T(n)));
    return {largest, std::size_t(std::int64_t(-widest::max_lane(-places)))};
#endif
  }

  // The first c in [0, n) where holds(L, c) is true for element c (n if none): the widest
  // batches find the block and the place in it, single elements the place in the tail.
  template <class T, class F>
  FARBOUND_HOST_DEVICE static std::size_t find_first(std::size_t n, F&& holds) {
    std::size_t c = 0;
#if !defined(__CUDA_ARCH__)
    using widest = BatchLanes<xsimd::batch<T>>;
    for (; c + widest::width <= n; c += widest::width) {
      const auto hits = holds(widest{}, c);
      if (xsimd::any(hits)) return c + widest::first_lane(hits);
    }
#endif
    return c + ScalarBlocks::find_first<T>(n - c, [&]<class L>(L, std::size_t i) { return holds(L{}, c + i); });
  }

 private:
#if defined(__AVX__)
  // Whether a row's last m < W elements run as one whole register (PartialLanes), which the
  // sums take into their lanes before they reduce them once, rather than as narrower
  // registers and single elements with a horizontal step each (at C = 70 on AVX2 a row's
  // last six logits took a sixth of its time, two of them through std::exp; on AVX-512 the
  // smoothness row kernel's rows took twice as long at C = 50 as at C = 48).
  template <class T>
  static constexpr bool partial_lanes = std::is_same_v<T, float>;
#endif
#if defined(__AVX__) && !defined(__AVX512F__)
  // A last block of exactly 4 (C = 100's rows) as one SSE register instead: plain loads and
  // stores rather than masked ones and a ladder, and no mask to build (the smoothness kernel
  // at C = 100: 1 445 -> 1 409 instructions per neighbour row; at C = 68 2 % less time). Its
  // lanes widened with zeros land where PartialLanes' would: the sums keep their bits.
  using QuarterLanes = BatchLanes<xsimd::make_sized_batch_t<float, 4>>;
  static xsimd::batch<float> widened(QuarterLanes::vec v) { return _mm256_insertf128_ps(_mm256_setzero_ps(), v, 0); }
  static SumPair<xsimd::batch<float>> widened(const SumPair<QuarterLanes::vec>& v) {
    return {widened(v.without), widened(v.all)};
  }
#endif
#if defined(__AVX__)
  // f over a row's last n - c < W elements as one W-lane value, the lanes past the row zero:
  // the sums' last step (reduce and sum_without).
  template <class F>
  FARBOUND_FORCE_INLINE static auto last_block(F& f, std::size_t c, std::size_t n) {
#if !defined(__AVX512F__)
    if (c + 4 == n) return widened(f(QuarterLanes{}, c));
#endif
    const PartialLanes last(n - c);
    return sum_parts::kept(last, f(last, c));
  }
#endif

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
