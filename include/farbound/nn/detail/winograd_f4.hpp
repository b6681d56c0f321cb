#pragma once
// The transforms of Winograd's F(4x4, 3x3) (winograd.hpp): 4x4 output tiles, 6x6 input
// patches, 36 positions, so 36 C multiply-adds per 16 outputs where F(2x2, 3x3) takes 64 C
// and the direct sum 144 C. Along each axis (Lavin and Gray's interpolation points 0, +-1,
// +-2 and infinity):
//   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
//   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
// Their entries up to 8 cost accuracy: an output's rounding error is several times
// F(2x2, 3x3)'s (tests/nn/conv2d.cpp bounds both against the direct sum).
//
// A transform's work is (channel, block of tiles): a block holds whole items where an item
// has fewer tiles than a strip (an 8 x 8 image has 4), else one item, so the patches that
// the input gradient adds up overlap only within a block. A strip's tiles are gathered one
// lane at a time, with the image's bounds checked per element (at ResNet9's 8 x 8 images
// every patch crosses an edge), and transformed on all lanes at once.
#include <algorithm>
#include <cstdint>
#include <type_traits>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "farbound/core/host_device.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/detail/im2col.hpp"
#include "farbound/nn/detail/winograd_geometry.hpp"

namespace farbound::detail::winograd4 {

using winograd_impl::matrix_stride, winograd_impl::strip;
inline constexpr std::int64_t positions = 36;  // the 6x6 transformed tile

// y[k * y_step + s] = f(x[0 * x_step + s], ..., x[(In - 1) * x_step + s])[k] on every lane s
// of a strip: a 1-D transform of In values into Out, which the compiler runs on vectors.
template <int In, int Out, class T, class F>
FARBOUND_FORCE_INLINE void on_lanes(const T* x, std::int64_t x_step, T* y, std::int64_t y_step, F f) {
  for (std::int64_t s = 0; s < strip; ++s) {
    T in[In], out[Out];
    FARBOUND_UNROLL for (int k = 0; k < In; ++k) in[k] = x[k * x_step + s];
    f(in, out);
    FARBOUND_UNROLL for (int k = 0; k < Out; ++k) y[k * y_step + s] = out[k];
  }
}

// B^T d, and its adjoint B v.
struct Input {
  template <class T>
  FARBOUND_FORCE_INLINE void operator()(const T* d, T* v) const {
    v[0] = T(4) * d[0] - T(5) * d[2] + d[4];
    v[1] = (d[3] + d[4]) - T(4) * (d[1] + d[2]);
    v[2] = (d[4] - d[3]) + T(4) * (d[1] - d[2]);
    v[3] = (d[4] - d[2]) + T(2) * (d[3] - d[1]);
    v[4] = (d[4] - d[2]) - T(2) * (d[3] - d[1]);
    v[5] = T(4) * d[1] - T(5) * d[3] + d[5];
  }
};
struct InputGrad {
  template <class T>
  FARBOUND_FORCE_INLINE void operator()(const T* v, T* d) const {
    d[0] = T(4) * v[0];
    d[1] = T(4) * (v[2] - v[1] + v[5]) + T(2) * (v[4] - v[3]);
    d[2] = -T(5) * v[0] - T(4) * (v[1] + v[2]) - (v[3] + v[4]);
    d[3] = (v[1] - v[2]) + T(2) * (v[3] - v[4]) - T(5) * v[5];
    d[4] = v[0] + v[1] + v[2] + v[3] + v[4];
    d[5] = v[5];
  }
};
// G w, and its adjoint G^T u.
struct Weight {
  template <class T>
  FARBOUND_FORCE_INLINE void operator()(const T* w, T* u) const {
    const T even = w[0] + w[2], outer = T(1) / T(24) * w[0] + T(1) / T(6) * w[2], middle = T(1) / T(12) * w[1];
    u[0] = T(1) / T(4) * w[0];
    u[1] = -T(1) / T(6) * (even + w[1]);
    u[2] = -T(1) / T(6) * (even - w[1]);
    u[3] = outer + middle;
    u[4] = outer - middle;
    u[5] = w[2];
  }
};
struct WeightGrad {
  template <class T>
  FARBOUND_FORCE_INLINE void operator()(const T* u, T* w) const {
    const T sum12 = u[1] + u[2], sum34 = u[3] + u[4];
    w[0] = T(1) / T(4) * u[0] - T(1) / T(6) * sum12 + T(1) / T(24) * sum34;
    w[1] = T(1) / T(6) * (u[2] - u[1]) + T(1) / T(12) * (u[3] - u[4]);
    w[2] = T(1) / T(6) * (sum34 - sum12) + u[5];
  }
};
// A^T m, and its adjoint A y.
struct Output {
  template <class T>
  FARBOUND_FORCE_INLINE void operator()(const T* m, T* y) const {
    const T a = m[1] + m[2], b = m[1] - m[2], c = m[3] + m[4], e = m[3] - m[4];
    y[0] = m[0] + a + c;
    y[1] = b + T(2) * e;
    y[2] = a + T(4) * c;
    y[3] = b + T(8) * e + m[5];
  }
};
struct OutputGrad {
  template <class T>
  FARBOUND_FORCE_INLINE void operator()(const T* y, T* m) const {
    const T even = y[0] + y[2], odd = y[1] + y[3], even4 = y[0] + T(4) * y[2], odd8 = T(2) * y[1] + T(8) * y[3];
    m[0] = y[0];
    m[1] = even + odd;
    m[2] = even - odd;
    m[3] = even4 + odd8;
    m[4] = even4 - odd8;
    m[5] = y[3];
  }
};

// A strip's numbers of every position, from or to the position matrices `stride` apart at
// `at`: 36 streams, which consecutive work items walk in order, too many for the hardware's
// stream prefetchers, so each asks for its line two strips on (ResNet9's step 205-208 -> 194-205 ms).
template <class T>
void load_positions(const T* at, std::int64_t stride, std::int64_t n, T (&lanes)[positions][strip]) {
  for (int xi = 0; xi < positions; ++xi) {
    __builtin_prefetch(at + xi * stride + 2 * strip, 0, 3);
    copy_run(at + xi * stride, lanes[xi], n);
  }
}
template <class T>
void store_positions(const T (&lanes)[positions][strip], T* at, std::int64_t stride, std::int64_t n) {
  for (int xi = 0; xi < positions; ++xi) {
    __builtin_prefetch(at + xi * stride + 2 * strip, 1, 3);
    copy_run(lanes[xi], at + xi * stride, n);
  }
}

// U = G w G^T is written once and read by the 36 products after the whole transform. Where
// it is larger than a core complex's L3 could keep for them (ResNet9's 512 -> 512: 37.7 MB),
// it is written past the caches in whole lines (non-temporal stores), so no line is first
// read for ownership: that transform 2.8-3.1 -> 1.3-1.4 ms on two threads, the 512-channel
// block's forward 38 -> 36 ms (docs/performance.md). AVX-512 floats, C a multiple of the
// strip (whole aligned lines).
inline constexpr std::int64_t streamed_weights_bytes = std::int64_t(8) << 20;

template <class T>
bool streams_weights([[maybe_unused]] std::int64_t O, [[maybe_unused]] std::int64_t C) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float> && strip == 16)
    return C % strip == 0 && positions * matrix_stride(O, C) * std::int64_t(sizeof(T)) >= streamed_weights_bytes;
#endif
  return false;
}

// A strip's positions as whole lines past the caches (streams_weights said it may).
template <class T>
void stream_positions([[maybe_unused]] const T (&lanes)[positions][strip], [[maybe_unused]] T* at,
                      [[maybe_unused]] std::int64_t stride) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float> && strip == 16)
    for (int xi = 0; xi < positions; ++xi) _mm512_stream_ps(at + xi * stride, _mm512_loadu_ps(lanes[xi]));
#endif
}

// A transform's work item: `tiles` tiles from `first_tile` on, those of items [first_item,
// first_item + items), in channel `channel`.
struct TileBlock {
  std::int64_t channel, first_tile, tiles, first_item, items;

  // Calls f(first tile, tile count) for each strip of the block.
  template <class F>
  void for_each_strip(F f) const {
    for (std::int64_t t0 = first_tile; t0 < first_tile + tiles; t0 += strip) f(t0, std::min(strip, first_tile + tiles - t0));
  }
};

// Calls f(TileBlock) for every (channel, block) of `channels` channels, in parallel.
template <class F>
void for_each_block(const WinogradGeometry& wg, std::int64_t channels, F f) {
  const std::int64_t per_item = wg.tiles_per_item(), items = wg.g.items;
  const std::int64_t block_items = std::max<std::int64_t>(1, strip / per_item);
  const std::int64_t blocks = (items + block_items - 1) / block_items;
  parallel_for(channels * blocks, [&](std::int64_t cb) {
    const std::int64_t n0 = cb % blocks * block_items, n = std::min(block_items, items - n0);
    f(TileBlock{cb / blocks, n0 * per_item, n * per_item, n0, n});
  });
}

// Where lane s of a strip starting at tile t lies: item n, corner (row, col) of its tile.
struct TileCorner {
  std::int64_t n, row, col;
};
inline TileCorner tile_corner(const WinogradGeometry& wg, std::int64_t t) {
  const std::int64_t per_item = wg.tiles_per_item(), r = t % per_item;
  return {t / per_item, 4 * (r / wg.tile_cols()), 4 * (r % wg.tile_cols())};
}

// U = G w G^T for every (o, c) of w [O, C, 3, 3].
template <class T>
void weights(const T* w, std::int64_t O, std::int64_t C, Tensor<T>& U) {
  resize_matrices(U, positions, O, C);
  const std::int64_t stride = matrix_stride(O, C);
  const bool streamed = streams_weights<T>(O, C);
  parallel_for(O, [&](std::int64_t o) {
    for (std::int64_t c0 = 0; c0 < C; c0 += strip) {
      const std::int64_t nc = std::min(strip, C - c0);
      T k[3][3][strip] = {}, rows[3][6][strip], u[positions][strip];
      for (std::int64_t s = 0; s < nc; ++s)
        FARBOUND_UNROLL for (int e = 0; e < 9; ++e) k[e / 3][e % 3][s] = w[(o * C + c0 + s) * 9 + e];
      FARBOUND_UNROLL for (int i = 0; i < 3; ++i) on_lanes<3, 6>(k[i][0], strip, rows[i][0], strip, Weight{});
      FARBOUND_UNROLL for (int b = 0; b < 6; ++b) on_lanes<3, 6>(rows[0][b], 6 * strip, u[b], 6 * strip, Weight{});
      if (streamed)
        stream_positions(u, U.data() + o * C + c0, stride);
      else
        store_positions(u, U.data() + o * C + c0, stride, nc);
    }
#if defined(__AVX512F__)
    if (streamed) _mm_sfence();  // the streamed lines are visible before the products read them
#endif
  });
}

// dL/dw[o, c] += G^T dU G.
template <class T>
void add_weight_grads(const Tensor<T>& dU, std::int64_t O, std::int64_t C, T* grad_w) {
  const std::int64_t stride = matrix_stride(O, C);
  parallel_for(O, [&](std::int64_t o) {
    for (std::int64_t c0 = 0; c0 < C; c0 += strip) {
      const std::int64_t nc = std::min(strip, C - c0);
      T u[positions][strip] = {}, rows[3][6][strip], k[3][3][strip];
      load_positions(dU.data() + o * C + c0, stride, nc, u);
      FARBOUND_UNROLL for (int b = 0; b < 6; ++b) on_lanes<6, 3>(u[b], 6 * strip, rows[0][b], 6 * strip, WeightGrad{});
      FARBOUND_UNROLL for (int i = 0; i < 3; ++i) on_lanes<6, 3>(rows[i][0], strip, k[i][0], strip, WeightGrad{});
      for (std::int64_t s = 0; s < nc; ++s)
        FARBOUND_UNROLL for (int e = 0; e < 9; ++e) grad_w[(o * C + c0 + s) * 9 + e] += k[e / 3][e % 3][s];
    }
  });
}

// V = B^T d B for every tile and channel of x [N, C, H, W].
template <class T>
void inputs(const WinogradGeometry& wg, const T* x, Tensor<T>& V) {
  const BatchConvGeometry& g = wg.g;
  const std::int64_t tiles = wg.tiles(), C = g.channels, stride = matrix_stride(C, tiles);
  resize_matrices(V, positions, C, tiles);
  for_each_block(wg, C, [&](const TileBlock& block) {
    const std::int64_t c = block.channel;
    block.for_each_strip([&](std::int64_t t0, std::int64_t nt) {
      T d[6][6][strip] = {}, rows[6][6][strip], v[positions][strip];
      for (std::int64_t s = 0; s < nt; ++s) {
        const TileCorner at = tile_corner(wg, t0 + s);
        const T* plane = x + (at.n * C + c) * g.height * g.width;
        FARBOUND_UNROLL for (int i = 0; i < 6; ++i) {
          const std::int64_t h = at.row - g.padding + i;
          if (h < 0 || h >= g.height) continue;
          FARBOUND_UNROLL for (int j = 0; j < 6; ++j) {
            const std::int64_t col = at.col - g.padding + j;
            if (col >= 0 && col < g.width) d[i][j][s] = plane[h * g.width + col];
          }
        }
      }
      FARBOUND_UNROLL for (int i = 0; i < 6; ++i) on_lanes<6, 6>(d[i][0], strip, rows[i][0], strip, Input{});
      FARBOUND_UNROLL for (int b = 0; b < 6; ++b) on_lanes<6, 6>(rows[0][b], 6 * strip, v[b], 6 * strip, Input{});
      store_positions(v, V.data() + c * tiles + t0, stride, nt);
    });
  });
}

// dL/dx = the sum over tiles of B dV B^T, each added where its patch lies in the image.
template <class T>
void input_grads(const WinogradGeometry& wg, const Tensor<T>& dV, T* grad_in) {
  const BatchConvGeometry& g = wg.g;
  const std::int64_t tiles = wg.tiles(), C = g.channels, stride = matrix_stride(C, tiles), HW = g.height * g.width;
  for_each_block(wg, C, [&](const TileBlock& block) {
    const std::int64_t c = block.channel;
    for (std::int64_t n = block.first_item; n < block.first_item + block.items; ++n)
      std::fill_n(grad_in + (n * C + c) * HW, HW, T(0));
    block.for_each_strip([&](std::int64_t t0, std::int64_t nt) {
      T v[positions][strip] = {}, rows[6][6][strip], d[6][6][strip];
      load_positions(dV.data() + c * tiles + t0, stride, nt, v);
      FARBOUND_UNROLL for (int b = 0; b < 6; ++b) on_lanes<6, 6>(v[b], 6 * strip, rows[0][b], 6 * strip, InputGrad{});
      FARBOUND_UNROLL for (int i = 0; i < 6; ++i) on_lanes<6, 6>(rows[i][0], strip, d[i][0], strip, InputGrad{});
      for (std::int64_t s = 0; s < nt; ++s) {
        const TileCorner at = tile_corner(wg, t0 + s);
        T* plane = grad_in + (at.n * C + c) * HW;
        FARBOUND_UNROLL for (int i = 0; i < 6; ++i) {
          const std::int64_t h = at.row - g.padding + i;
          if (h < 0 || h >= g.height) continue;
          FARBOUND_UNROLL for (int j = 0; j < 6; ++j) {
            const std::int64_t col = at.col - g.padding + j;
            if (col >= 0 && col < g.width) plane[h * g.width + col] += d[i][j][s];
          }
        }
      }
    });
  });
}

// y = b + A^T M A for every tile, cropped to the output.
template <class T>
void outputs(const WinogradGeometry& wg, const Tensor<T>& M, const T* bias, std::int64_t O, T* y) {
  const BatchConvGeometry& g = wg.g;
  const std::int64_t tiles = wg.tiles(), P = g.out_height, Q = g.out_width, stride = matrix_stride(O, tiles);
  for_each_block(wg, O, [&](const TileBlock& block) {
    const std::int64_t o = block.channel;
    block.for_each_strip([&](std::int64_t t0, std::int64_t nt) {
      T m[positions][strip] = {}, rows[6][4][strip], out[4][4][strip];
      load_positions(M.data() + o * tiles + t0, stride, nt, m);
      FARBOUND_UNROLL for (int a = 0; a < 6; ++a) on_lanes<6, 4>(m[6 * a], strip, rows[a][0], strip, Output{});
      FARBOUND_UNROLL for (int j = 0; j < 4; ++j) on_lanes<6, 4>(rows[0][j], 4 * strip, out[0][j], 4 * strip, Output{});
      for (std::int64_t s = 0; s < nt; ++s) {
        const TileCorner at = tile_corner(wg, t0 + s);
        T* plane = y + (at.n * O + o) * P * Q;
        for (int i = 0; i < 4 && at.row + i < P; ++i)
          for (int j = 0; j < 4 && at.col + j < Q; ++j) plane[(at.row + i) * Q + at.col + j] = out[i][j][s] + bias[o];
      }
    });
  });
}

// dM = A g A^T for every tile of g = dL/dy [N, O, P, Q] (zero past the output's edge).
template <class T>
void output_grads(const WinogradGeometry& wg, const T* grad_out, std::int64_t O, Tensor<T>& dM) {
  const BatchConvGeometry& g = wg.g;
  const std::int64_t tiles = wg.tiles(), P = g.out_height, Q = g.out_width, stride = matrix_stride(O, tiles);
  resize_matrices(dM, positions, O, tiles);
  for_each_block(wg, O, [&](const TileBlock& block) {
    const std::int64_t o = block.channel;
    block.for_each_strip([&](std::int64_t t0, std::int64_t nt) {
      T gt[4][4][strip] = {}, rows[4][6][strip], m[positions][strip];
      for (std::int64_t s = 0; s < nt; ++s) {
        const TileCorner at = tile_corner(wg, t0 + s);
        const T* plane = grad_out + (at.n * O + o) * P * Q;
        for (int i = 0; i < 4 && at.row + i < P; ++i)
          for (int j = 0; j < 4 && at.col + j < Q; ++j) gt[i][j][s] = plane[(at.row + i) * Q + at.col + j];
      }
      for (int i = 0; i < 4; ++i) on_lanes<4, 6>(gt[i][0], strip, rows[i][0], strip, OutputGrad{});
      for (int b = 0; b < 6; ++b) on_lanes<4, 6>(rows[0][b], 6 * strip, m[b], 6 * strip, OutputGrad{});
      store_positions(m, dM.data() + o * tiles + t0, stride, nt);
    });
  });
}

}  // namespace farbound::detail::winograd4
