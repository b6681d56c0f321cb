#pragma once
// Pooling over [N, C, H, W] batches: MaxPool2d, AvgPool2d (square windows, no padding,
// floor mode, as PyTorch's defaults) and GlobalAvgPool2d.
//
// Every (item, channel) plane is pooled on its own, so planes run in parallel and every
// result is independent of the thread count.
//   max:     y[p, q] = max_{i,j} x[p*s + i, q*s + j]; dL/dx gets g[p, q] at the first
//            window position (i, j in row-major order) holding that maximum, found again
//            in backward by comparing x with y instead of storing indices. A NaN counts
//            as the maximum (as in PyTorch); its gradient goes to the window's first NaN.
//            Both passes are free of data-dependent branches (with random data a branch
//            on "is this larger" mispredicts about once per window) and of gathers (2-3x
//            slower still). For 2 x 2 windows at stride 2 on float, forward and backward
//            compare whole rows of windows in SIMD registers instead
//            (detail/max_pool_2x2.hpp, detail/max_unpool_2x2.hpp; planes narrower than 16
//            as one stream of row pairs, detail/max_pool_2x2_narrow.hpp): the same result.
//   average: y[p, q] = 1/k^2 sum_{i,j} x[p*s + i, q*s + j]; dL/dx[window] += g[p, q] / k^2.
//   global:  GlobalAvgPool2d, in global_avg_pool.hpp (included here).
// Overlapping windows (stride < kernel) add their contributions up.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>
#include <string>

#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/shape.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/detail/lanes.hpp"
#include "farbound/nn/detail/max_pool_2x2.hpp"
#include "farbound/nn/detail/max_pool_2x2_narrow.hpp"
#include "farbound/nn/detail/max_pool_by_columns.hpp"
#include "farbound/nn/detail/max_unpool_2x2.hpp"
#include "farbound/nn/detail/max_pool_whole_rows.hpp"
#include "farbound/nn/detail/window.hpp"
#include "farbound/nn/global_avg_pool.hpp"
#include "farbound/nn/layer.hpp"

namespace farbound {
namespace detail {

// What max and average pooling share: the window, the shapes, the checks and the loop over
// planes. Derived classes provide prepare(plane) (called once per pass, before the planes
// run in parallel), pool(x, y, planes) for planes_per_pool(plane) consecutive planes (fewer
// at the end), unpool(x_plane, y_plane, g_plane, dx_plane), where dx_plane arrives zeroed
// unless writes_every_input(plane) says unpool writes all of it, and unpool_planes(x, y, g,
// dx, planes), the backward of a parallel chunk's planes at once where it has one (true) and
// false where they go to unpool plane by plane.
template <class T, class Derived>
class WindowPool2d : public Layer<T> {
 public:
  const WindowGeometry& window() const { return window_; }

  std::string describe() const override {
    return std::string(Derived::name) + "(kernel " + std::to_string(window_.kernel) + ", stride " +
           std::to_string(window_.stride) + ")";
  }

  Shape output_shape(const Shape& input) const override {
    return window_.output_shape(input, -1, -1, [this] { return describe(); });
  }

  void forward(TensorView<const T> in, Tensor<T>& out) override {
    out.resize(output_shape(in.shape()));
    with_plane(in.shape(), [&](const auto pl) {
      self().prepare(pl);
      parallel_chunks(in.size(0) * in.size(1), planes_per_call(pl), [&](std::int64_t first, std::int64_t last) {
        self().pool(pl, in.data() + first * pl.in_numel(), out.data() + first * pl.out_numel(), last - first);
      });
    });
  }

  void backward(TensorView<const T> in, TensorView<const T> out, TensorView<const T> grad_out, Tensor<T>* grad_in,
                ParamGrads) override {
    const Shape expected = output_shape(in.shape());
    // Built once: a steady-state step allocates nothing.
    static const std::string out_what = std::string(Derived::name) + "::backward (output vs layer output)";
    static const std::string grad_what = std::string(Derived::name) + "::backward (grad_out vs layer output)";
    require_same_shape(out.shape(), expected, out_what.c_str());
    require_same_shape(grad_out.shape(), expected, grad_what.c_str());
    if (!grad_in) return;
    grad_in->resize(in.shape());
    with_plane(in.shape(), [&](const auto pl) {
      self().prepare(pl);
      const bool zero_first = !self().writes_every_input(pl);
      parallel_chunks(in.size(0) * in.size(1), planes_per_call(pl), [&](std::int64_t first, std::int64_t last) {
        const std::int64_t in_at = first * pl.in_numel(), out_at = first * pl.out_numel();
        if (self().unpool_planes(pl, in.data() + in_at, out.data() + out_at, grad_out.data() + out_at,
                                 grad_in->data() + in_at, last - first))
          return;
        for (std::int64_t i = first; i < last; ++i) {
          T* dx = grad_in->data() + i * pl.in_numel();
          if (zero_first) std::fill_n(dx, pl.in_numel(), T(0));
          self().unpool(pl, in.data() + i * pl.in_numel(), out.data() + i * pl.out_numel(),
                        grad_out.data() + i * pl.out_numel(), dx);
        }
      });
    });
  }

 protected:
  // One [H, W] plane and its [P, Q] pooled plane. K, S > 0 make the kernel size and stride
  // compile-time constants: the compiler then unrolls the window and vectorises across
  // outputs (about 5x faster for 2x2 windows than with run-time sizes).
  template <std::int64_t K, std::int64_t S>
  struct Plane {
    static constexpr std::int64_t fixed_kernel = K, fixed_stride = S;
    std::int64_t height, width, out_height, out_width, runtime_kernel, runtime_stride;
    std::int64_t kernel() const { return K ? K : runtime_kernel; }
    std::int64_t stride() const { return S ? S : runtime_stride; }
    std::int64_t in_numel() const { return height * width; }
    std::int64_t out_numel() const { return out_height * out_width; }
    // Index of the top-left input element of output (p, q)'s window.
    std::int64_t origin(std::int64_t p, std::int64_t q) const { return (p * width + q) * stride(); }
  };

  WindowPool2d(std::int64_t kernel, std::int64_t stride) : window_{kernel, stride, 0} {
    window_.validate(Derived::name);
  }

 private:
  Derived& self() { return static_cast<Derived&>(*this); }
  // Planes per call of a parallel loop's body: about 4 096 inputs, a multiple of
  // planes_per_pool. One call per plane of ResNet9's 8 x 8 pool cost a third of its backward
  // on AVX2.
  template <class PlaneT>
  std::int64_t planes_per_call(const PlaneT pl) {
    const std::int64_t pooled = self().planes_per_pool(pl);
    return pooled * std::max<std::int64_t>(1, 4096 / (pooled * pl.in_numel()));
  }
  // Calls f(plane) with the common windows (2x2 stride 2, 3x3 stride 2) fixed at compile time.
  template <class F>
  void with_plane(const Shape& s, F&& f) const {
    const std::int64_t k = window_.kernel, st = window_.stride;
    const auto make = [&]<std::int64_t K, std::int64_t S>() {
      return Plane<K, S>{s[2], s[3], window_.out_extent(s[2]), window_.out_extent(s[3]), k, st};
    };
    if (k == 2 && st == 2) f(make.template operator()<2, 2>());
    else if (k == 3 && st == 2) f(make.template operator()<3, 2>());
    else f(make.template operator()<0, 0>());
  }

  WindowGeometry window_;
};

}  // namespace detail

// Max pooling over square windows.
template <class T>
class MaxPool2d final : public detail::WindowPool2d<T, MaxPool2d<T>> {
  using Base = detail::WindowPool2d<T, MaxPool2d<T>>;
  friend Base;

 public:
  // Its name in descriptions.
  static constexpr const char* name = "MaxPool2d";
  // Pooling over kernel x kernel windows with stride kernel.
  explicit MaxPool2d(std::int64_t kernel) : Base(kernel, kernel) {}
  // Pooling over kernel x kernel windows with the given stride.
  MaxPool2d(std::int64_t kernel, std::int64_t stride) : Base(kernel, stride) {}

 private:
  template <class PlaneT>
  void prepare(const PlaneT) {}

  // The vector 2 x 2 backward writes g or 0 at every input position its windows cover: all
  // of them when H and W are even; so do the one-hot backward of whole-row windows when they
  // cover every row, and the backward by columns on lanes when its windows tile the plane.
  template <class PlaneT>
  static bool writes_every_input(const PlaneT pl) {
    if (PlaneT::fixed_kernel == 0 && whole_rows(pl))
      return detail::has_one_hot_unpool<T>(std::size_t(pl.kernel() * pl.width)) && whole_rows_tile(pl);
    if (PlaneT::fixed_kernel == 0 && by_columns(pl))
      return detail::max_unpool_by_columns_writes_all<T>(pl.kernel(), pl.height, pl.width);
    return simd_unpool<PlaneT> && pl.height % 2 == 0 && pl.width % 2 == 0;
  }
  template <class PlaneT>
  static constexpr bool simd_unpool =
      PlaneT::fixed_kernel == 2 && PlaneT::fixed_stride == 2 && detail::has_simd_max_unpool_2x2<T>;
  template <class PlaneT>
  static constexpr bool simd_pool =
      PlaneT::fixed_kernel == 2 && PlaneT::fixed_stride == 2 && detail::has_simd_max_pool_2x2<T>;

  // Planes per pool() call: detail::max_runs_together where whole-row windows tile the
  // planes and that many of them reduce together (detail/max_pool_whole_rows.hpp), else one.
  template <class PlaneT>
  static std::int64_t planes_per_pool(const PlaneT pl) {
    return whole_rows_tile(pl) && detail::has_max_of_runs<T>(std::size_t(pl.kernel() * pl.width))
               ? std::int64_t(detail::max_runs_together)
               : 1;
  }

  // The plane is taken by value: a local copy cannot alias y, so its extents stay in
  // registers.
  template <class PlaneT>
  void pool(const PlaneT pl, const T* __restrict x, T* __restrict y, std::int64_t planes) const {
    if constexpr (PlaneT::fixed_kernel == 0)
      if (whole_rows_tile(pl)) return pool_whole_rows(pl, x, y, planes * pl.out_height);
    if constexpr (simd_pool<PlaneT>)  // planes of row pairs one after another (detail/max_pool_2x2_narrow.hpp)
      if (pl.height % 2 == 0 && pl.width % 2 == 0 &&
          detail::max_pool_2x2_narrow(pl.width, planes * pl.height / 2, x, y))
        return;
    for (std::int64_t i = 0; i < planes; ++i) pool_plane(pl, x + i * pl.in_numel(), y + i * pl.out_numel());
  }
  template <class PlaneT>
  void pool_plane(const PlaneT pl, const T* __restrict x, T* __restrict y) const {
    if constexpr (PlaneT::fixed_kernel == 0)
      if (whole_rows(pl)) return pool_whole_rows(pl, x, y, pl.out_height);
    if constexpr (simd_pool<PlaneT>) {
      for (std::int64_t p = 0; p < pl.out_height; ++p) {
        const T* top = x + pl.origin(p, 0);
        detail::MaxPool2x2<T>::row(pl.out_width, top, top + pl.width, y + p * pl.out_width);
      }
      return;
    }
    if constexpr (PlaneT::fixed_kernel == 0)
      if (by_columns(pl))
        return detail::max_pool_by_columns(pl, x, y, [pl](const T* window) { return window_max(pl, window); });
    for (std::int64_t p = 0; p < pl.out_height; ++p)
      for (std::int64_t q = 0; q < pl.out_width; ++q) y[p * pl.out_width + q] = window_max(pl, x + pl.origin(p, q));
  }
  // `runs` windows of whole rows from x on (the planes' windows one after another where they
  // tile the planes, as planes_per_pool asks; else one plane's).
  template <class PlaneT>
  static void pool_whole_rows(const PlaneT pl, const T* __restrict x, T* __restrict y, std::int64_t runs) {
    const std::size_t n = std::size_t(pl.kernel() * pl.width);
    const auto one_run = [&](std::int64_t r) {
      y[r] = detail::run_max(x + r * std::int64_t(n), n, [pl](const T* window) { return window_max(pl, window); });
    };
    std::int64_t r = 0;
#if defined(__AVX512F__) || defined(__AVX2__)
    constexpr auto together = std::int64_t(detail::max_runs_together);
    if constexpr (std::is_same_v<T, float>)
      if (planes_per_pool(pl) > 1)
        for (; r + together <= runs; r += together)
          for (std::uint32_t redo = detail::max_of_runs(x + r * std::int64_t(n), n, y + r); redo; redo &= redo - 1)
            one_run(r + std::countr_zero(redo));
#endif
    for (; r < runs; ++r) one_run(r);
  }

  // The maximum of one window, or NaN if it holds one. `v > m ? v : m` is one maxss and
  // keeps the first maximum in row-major order (which matters only for the sign of a zero);
  // NaNs are tracked on the side, which keeps the loop free of branches.
  template <class PlaneT>
  static T window_max(const PlaneT pl, const T* window) {
    T m = -std::numeric_limits<T>::infinity();
    bool nan = false;
    for (std::int64_t i = 0; i < pl.kernel(); ++i)
      for (std::int64_t j = 0; j < pl.kernel(); ++j) {
        const T v = window[i * pl.width + j];
        m = v > m ? v : m;
        nan |= v != v;
      }
    return nan ? std::numeric_limits<T>::quiet_NaN() : m;
  }

  // 2 x 2 windows over narrow planes of even extents: the chunk's planes as one stream of row
  // pairs (detail/max_pool_2x2_narrow.hpp), writing every input.
  template <class PlaneT>
  bool unpool_planes(const PlaneT pl, const T* x, const T* y, const T* g, T* dx, std::int64_t planes) const {
    if constexpr (simd_unpool<PlaneT>)
      return pl.height % 2 == 0 && pl.width % 2 == 0 &&
             detail::max_unpool_2x2_narrow(pl.width, planes * pl.height / 2, x, y, g, dx);
    return false;
  }
  // Windows of a run-time size that do not overlap (other than whole rows, below) run by
  // columns (detail/max_pool_by_columns.hpp).
  template <class PlaneT>
  static bool by_columns(const PlaneT pl) {
    return pl.stride() == pl.kernel() && pl.kernel() <= detail::max_pool_column_chunk;
  }

  // Windows that span whole rows and do not overlap (ResNet9's 8 x 8 pool over 8 x 8
  // planes) are contiguous runs of k * W values (detail/max_pool_whole_rows.hpp); the walk
  // in order only where the maximum is a zero (its sign, see above).
  template <class PlaneT>
  static bool whole_rows(const PlaneT pl) {
    return pl.kernel() == pl.width && pl.stride() == pl.kernel();
  }
  // Whole-row windows that cover every row: consecutive planes' windows are one run after
  // another.
  template <class PlaneT>
  static bool whole_rows_tile(const PlaneT pl) {
    return whole_rows(pl) && pl.out_height * pl.kernel() == pl.height;
  }
  // For each output, the first window position (in forward order) equal to the maximum, or
  // the first NaN, takes the whole gradient. The window is walked backwards so that the
  // first hit is selected last, with bit masks: compilers turn `hit ? a : b` into branches,
  // and those mispredict about once per window on real data.
  // 2 x 2 windows at stride 2 on float run detail/max_unpool_2x2.hpp's vector version.
  template <class PlaneT>
  void unpool(const PlaneT pl, const T* __restrict x, const T* __restrict y, const T* __restrict g,
              T* __restrict dx) const {
    if constexpr (PlaneT::fixed_kernel == 0)
      if (whole_rows(pl)) return detail::max_unpool_whole_rows(pl, x, y, g, dx);
    if constexpr (PlaneT::fixed_kernel == 0)
      if (by_columns(pl)) return detail::max_unpool_by_columns(pl, x, y, g, dx);
    for (std::int64_t p = 0; p < pl.out_height; ++p) {
      if constexpr (simd_unpool<PlaneT>) {
        const T* x0 = x + pl.origin(p, 0);
        T* d0 = dx + pl.origin(p, 0);
        detail::max_unpool_2x2_row(pl.out_width, x0, x0 + pl.width, y + p * pl.out_width, g + p * pl.out_width, d0,
                                   d0 + pl.width);
        continue;
      }
      for (std::int64_t q = 0; q < pl.out_width; ++q) {
        const T* window = x + pl.origin(p, q);
        const T m = y[p * pl.out_width + q];
        std::int64_t winner = -1;  // offset of the maximum from the window origin
        for (std::int64_t i = pl.kernel() - 1; i >= 0; --i)
          for (std::int64_t j = pl.kernel() - 1; j >= 0; --j) {
            const T v = window[i * pl.width + j];
            const std::int64_t hit = -std::int64_t((v == m) | (v != v));  // all ones or zero
            winner = (hit & (i * pl.width + j)) | (~hit & winner);
          }
        if (winner >= 0) dx[pl.origin(p, q) + winner] += g[p * pl.out_width + q];
      }
    }
  }
};

// Average pooling over square windows.
template <class T>
class AvgPool2d final : public detail::WindowPool2d<T, AvgPool2d<T>> {
  using Base = detail::WindowPool2d<T, AvgPool2d<T>>;
  friend Base;

 public:
  // Its name in descriptions.
  static constexpr const char* name = "AvgPool2d";
  // Pooling over kernel x kernel windows with stride kernel.
  explicit AvgPool2d(std::int64_t kernel) : Base(kernel, kernel) {}
  // Pooling over kernel x kernel windows with the given stride.
  AvgPool2d(std::int64_t kernel, std::int64_t stride) : Base(kernel, stride) {}

 private:
  template <class PlaneT>
  void prepare(const PlaneT) {}
  // unpool adds into dx.
  template <class PlaneT>
  static bool writes_every_input(const PlaneT) {
    return false;
  }

  template <class PlaneT>
  static std::int64_t planes_per_pool(const PlaneT) {
    return 1;
  }
  template <class PlaneT>
  void pool(const PlaneT pl, const T* __restrict x, T* __restrict y, std::int64_t planes) const {
    const T scale = T(1) / T(pl.kernel() * pl.kernel());
    for (std::int64_t plane = 0; plane < planes; ++plane, x += pl.in_numel(), y += pl.out_numel())
      for (std::int64_t p = 0; p < pl.out_height; ++p)
        for (std::int64_t q = 0; q < pl.out_width; ++q) {
          const T* window = x + pl.origin(p, q);
          T s = 0;
          for (std::int64_t i = 0; i < pl.kernel(); ++i)
            for (std::int64_t j = 0; j < pl.kernel(); ++j) s += window[i * pl.width + j];
          y[p * pl.out_width + q] = s * scale;
        }
  }
  template <class PlaneT>
  bool unpool_planes(const PlaneT, const T*, const T*, const T*, T*, std::int64_t) const { return false; }
  template <class PlaneT>
  void unpool(const PlaneT pl, const T*, const T*, const T* __restrict g, T* __restrict dx) const {
    const T scale = T(1) / T(pl.kernel() * pl.kernel());
    for (std::int64_t p = 0; p < pl.out_height; ++p)
      for (std::int64_t q = 0; q < pl.out_width; ++q) {
        T* window = dx + pl.origin(p, q);
        const T share = g[p * pl.out_width + q] * scale;
        for (std::int64_t i = 0; i < pl.kernel(); ++i)
          for (std::int64_t j = 0; j < pl.kernel(); ++j) window[i * pl.width + j] += share;
      }
  }
};

}  // namespace farbound
