#pragma once
// The transforms of Winograd's F(2x2, 3x3) (winograd.hpp): 2x2 output tiles, 4x4 input
// patches, 16 positions. Along each axis
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
//   A^T = [1 1 1 0; 0 1 -1 -1]
// all of whose entries are 0, +-1 and +-1/2. A strip of tiles runs along a row of tiles of
// one (item, channel) plane.
#include <algorithm>
#include <cstdint>

#include "farbound/core/host_device.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/detail/im2col.hpp"
#include "farbound/nn/detail/winograd_geometry.hpp"

namespace farbound::detail::winograd2 {

inline constexpr std::int64_t positions = 16;  // the 4x4 transformed tile

// U = G w G^T for every (o, c) of w [O, C, 3, 3]:
//   G w = [w0, (w0 + w1 + w2) / 2, (w0 - w1 + w2) / 2, w2] along each axis.
template <class T>
void weights(const T* w, std::int64_t O, std::int64_t C, Tensor<T>& U) {
  using winograd_impl::matrix_stride, winograd_impl::strip;
  resize_matrices(U, positions, O, C);
  const std::int64_t stride = matrix_stride(O, C);
  parallel_for(O, [&](std::int64_t o) {
    for (std::int64_t c0 = 0; c0 < C; c0 += strip) {
      const std::int64_t nc = std::min(strip, C - c0);
      T rows[4][3][strip];  // G w: rows[i][j] = (G w)[i, j]
      for (std::int64_t s = 0; s < nc; ++s) {
        const T* k = w + (o * C + c0 + s) * 9;
        FARBOUND_UNROLL for (int j = 0; j < 3; ++j) {
          rows[0][j][s] = k[j];
          rows[1][j][s] = T(0.5) * (k[j] + k[3 + j] + k[6 + j]);
          rows[2][j][s] = T(0.5) * (k[j] - k[3 + j] + k[6 + j]);
          rows[3][j][s] = k[6 + j];
        }
      }
      FARBOUND_UNROLL for (int i = 0; i < 4; ++i) {
        T* u = U.data() + 4 * i * stride + o * C + c0;  // positions (i, 0 .. 3)
        for (std::int64_t s = 0; s < nc; ++s) {
          const T a = rows[i][0][s], b = rows[i][1][s], c = rows[i][2][s];
          u[s] = a;
          u[stride + s] = T(0.5) * (a + b + c);
          u[2 * stride + s] = T(0.5) * (a - b + c);
          u[3 * stride + s] = c;
        }
      }
    }
  });
}

// dL/dw[o, c] += G^T dU G, the adjoint of winograd_weights:
//   G^T u = [u0 + (u1 + u2) / 2, (u1 - u2) / 2, u3 + (u1 + u2) / 2] along each axis.
template <class T>
void add_weight_grads(const Tensor<T>& dU, std::int64_t O, std::int64_t C, T* grad_w) {
  using winograd_impl::matrix_stride, winograd_impl::strip;
  const std::int64_t stride = matrix_stride(O, C);
  parallel_for(O, [&](std::int64_t o) {
    for (std::int64_t c0 = 0; c0 < C; c0 += strip) {
      const std::int64_t nc = std::min(strip, C - c0);
      T cols[4][3][strip];  // dU G along the columns: cols[i][j]
      FARBOUND_UNROLL for (int i = 0; i < 4; ++i) {
        const T* u = dU.data() + 4 * i * stride + o * C + c0;
        for (std::int64_t s = 0; s < nc; ++s) {
          const T u0 = u[s], u1 = u[stride + s], u2 = u[2 * stride + s], u3 = u[3 * stride + s];
          cols[i][0][s] = u0 + T(0.5) * (u1 + u2);
          cols[i][1][s] = T(0.5) * (u1 - u2);
          cols[i][2][s] = u3 + T(0.5) * (u1 + u2);
        }
      }
      for (std::int64_t s = 0; s < nc; ++s) {
        T* k = grad_w + (o * C + c0 + s) * 9;
        FARBOUND_UNROLL for (int j = 0; j < 3; ++j) {
          const T u0 = cols[0][j][s], u1 = cols[1][j][s], u2 = cols[2][j][s], u3 = cols[3][j][s];
          k[j] += u0 + T(0.5) * (u1 + u2);
          k[3 + j] += T(0.5) * (u1 - u2);
          k[6 + j] += u3 + T(0.5) * (u1 + u2);
        }
      }
    }
  });
}

// V = B^T d B for every tile and channel of x [N, C, H, W]:
//   B^T d = [d0 - d2, d1 + d2, d2 - d1, d1 - d3] along each axis.
// A strip of tiles along a tile row reads the even and odd image columns 2 s - pad and
// 2 s + 1 - pad, s = tx .. tx + strip: tile tx's columns are even[tx], odd[tx], even[tx + 1],
// odd[tx + 1]. The arithmetic runs over whole strips (fixed trip counts, vectorised); lanes
// past the last tile compute on zeros and are not stored.
template <class T>
void inputs(const WinogradGeometry& wg, const T* x, Tensor<T>& V) {
  using winograd_impl::matrix_stride, winograd_impl::strip;
  const BatchConvGeometry& g = wg.g;
  const std::int64_t tiles = wg.tiles(), C = g.channels, stride = matrix_stride(C, tiles);
  resize_matrices(V, positions, C, tiles);
  parallel_for(C * g.items, [&](std::int64_t cn) {
    const std::int64_t c = cn / g.items, n = cn % g.items;  // items inner: V's rows fill in order
    const T* plane = x + (n * C + c) * g.height * g.width;
    T even[4][strip + 1], odd[4][strip + 1], ve[4][strip + 1], vo[4][strip + 1], v[positions][strip];
    for (std::int64_t ty = 0; ty < wg.tile_rows(); ++ty)
      for (std::int64_t tx0 = 0; tx0 < wg.tile_cols(); tx0 += strip) {
        const std::int64_t nt = std::min(strip, wg.tile_cols() - tx0);
        FARBOUND_UNROLL for (int i = 0; i < 4; ++i) {
          const std::int64_t h = 2 * ty - g.padding + i;
          std::fill_n(even[i], strip + 1, T(0));
          std::fill_n(odd[i], strip + 1, T(0));
          if (h < 0 || h >= g.height) continue;
          const T* row = plane + h * g.width;
          for (std::int64_t s = 0; s <= nt; ++s) {
            const std::int64_t col = 2 * (tx0 + s) - g.padding;
            if (col >= 0 && col < g.width) even[i][s] = row[col];
            if (col + 1 >= 0 && col + 1 < g.width) odd[i][s] = row[col + 1];
          }
        }
        for (std::int64_t s = 0; s <= strip; ++s) {  // B^T along the rows
          ve[0][s] = even[0][s] - even[2][s], vo[0][s] = odd[0][s] - odd[2][s];
          ve[1][s] = even[1][s] + even[2][s], vo[1][s] = odd[1][s] + odd[2][s];
          ve[2][s] = even[2][s] - even[1][s], vo[2][s] = odd[2][s] - odd[1][s];
          ve[3][s] = even[1][s] - even[3][s], vo[3][s] = odd[1][s] - odd[3][s];
        }
        FARBOUND_UNROLL for (int i = 0; i < 4; ++i)  // B along the columns
          for (std::int64_t s = 0; s < strip; ++s) {
            v[4 * i][s] = ve[i][s] - ve[i][s + 1];
            v[4 * i + 1][s] = vo[i][s] + ve[i][s + 1];
            v[4 * i + 2][s] = ve[i][s + 1] - vo[i][s];
            v[4 * i + 3][s] = vo[i][s] - vo[i][s + 1];
          }
        T* dst = V.data() + c * tiles + wg.tile_index(n, ty, tx0);
        for (int xi = 0; xi < positions; ++xi) copy_run(v[xi], dst + xi * stride, nt);  // not rep movs
      }
  });
}

// dL/dx = the sum over tiles of B dV B^T, each added where its patch lies in the image:
//   B v = [v0, v1 - v2 + v3, v1 + v2 - v0, -v3] along each axis.
// Each (item, channel) plane adds its tile rows in order; along a row, tile tx's columns 2
// and 3 land on the even and odd columns of tile tx + 1's 0 and 1. Whole strips as in
// winograd_inputs; lanes past the last tile hold stale numbers, unused.
template <class T>
void input_grads(const WinogradGeometry& wg, const Tensor<T>& dV, T* grad_in) {
  using winograd_impl::matrix_stride, winograd_impl::strip;
  const BatchConvGeometry& g = wg.g;
  const std::int64_t tiles = wg.tiles(), C = g.channels, stride = matrix_stride(C, tiles);
  parallel_for(C * g.items, [&](std::int64_t cn) {
    const std::int64_t c = cn / g.items, n = cn % g.items;  // items inner: dV's rows read in order
    T* plane = grad_in + (n * C + c) * g.height * g.width;
    std::fill_n(plane, g.height * g.width, T(0));
    T v[positions][strip] = {}, rows[4][4][strip], d[4][strip];
    for (std::int64_t ty = 0; ty < wg.tile_rows(); ++ty)
      for (std::int64_t tx0 = 0; tx0 < wg.tile_cols(); tx0 += strip) {
        const std::int64_t nt = std::min(strip, wg.tile_cols() - tx0);
        const T* src = dV.data() + c * tiles + wg.tile_index(n, ty, tx0);
        for (int xi = 0; xi < positions; ++xi) copy_run(src + xi * stride, v[xi], nt);
        FARBOUND_UNROLL for (int i = 0; i < 4; ++i)  // B^T along the columns
          for (std::int64_t s = 0; s < strip; ++s) {
            const T v0 = v[4 * i][s], v1 = v[4 * i + 1][s], v2 = v[4 * i + 2][s], v3 = v[4 * i + 3][s];
            rows[i][0][s] = v0, rows[i][1][s] = v1 - v2 + v3, rows[i][2][s] = v1 + v2 - v0, rows[i][3][s] = -v3;
          }
        FARBOUND_UNROLL for (int i = 0; i < 4; ++i) {  // B along the rows, then added into image row h
          const std::int64_t h = 2 * ty - g.padding + i;
          if (h < 0 || h >= g.height) continue;
          FARBOUND_UNROLL for (int j = 0; j < 4; ++j)
            for (std::int64_t s = 0; s < strip; ++s) {
              const T r0 = rows[0][j][s], r1 = rows[1][j][s], r2 = rows[2][j][s], r3 = rows[3][j][s];
              d[j][s] = i == 0 ? r0 : i == 1 ? r1 - r2 + r3 : i == 2 ? r1 + r2 - r0 : -r3;
            }
          T* row = plane + h * g.width;
          for (std::int64_t s = 0; s <= nt; ++s) {
            const T e = (s < nt ? d[0][s] : T(0)) + (s > 0 ? d[2][s - 1] : T(0));
            const T o = (s < nt ? d[1][s] : T(0)) + (s > 0 ? d[3][s - 1] : T(0));
            const std::int64_t col = 2 * (tx0 + s) - g.padding;
            if (col >= 0 && col < g.width) row[col] += e;
            if (col + 1 >= 0 && col + 1 < g.width) row[col + 1] += o;
          }
        }
      }
  });
}

// y = b + A^T M A for every tile, cropped to the output:
//   A^T m = [m0 + m1 + m2, m1 - m2 - m3] along each axis.
// Whole strips as in winograd_inputs; lanes past the last tile hold stale numbers, unused.
template <class T>
void outputs(const WinogradGeometry& wg, const Tensor<T>& M, const T* bias, std::int64_t O, T* y) {
  using winograd_impl::matrix_stride, winograd_impl::strip;
  const BatchConvGeometry& g = wg.g;
  const std::int64_t tiles = wg.tiles(), P = g.out_height, Q = g.out_width, stride = matrix_stride(O, tiles);
  parallel_for(O * g.items, [&](std::int64_t on) {
    const std::int64_t o = on / g.items, n = on % g.items;  // items inner: M's rows read in order
    T* plane = y + (n * O + o) * P * Q;
    T m[positions][strip] = {}, cols[4][2][strip], out[2][2][strip];
    for (std::int64_t ty = 0; ty < wg.tile_rows(); ++ty)
      for (std::int64_t tx0 = 0; tx0 < wg.tile_cols(); tx0 += strip) {
        const std::int64_t nt = std::min(strip, wg.tile_cols() - tx0);
        const T* src = M.data() + o * tiles + wg.tile_index(n, ty, tx0);
        for (int xi = 0; xi < positions; ++xi) copy_run(src + xi * stride, m[xi], nt);
        for (int i = 0; i < 4; ++i)  // A along the columns
          for (std::int64_t s = 0; s < strip; ++s) {
            cols[i][0][s] = m[4 * i][s] + m[4 * i + 1][s] + m[4 * i + 2][s];
            cols[i][1][s] = m[4 * i + 1][s] - m[4 * i + 2][s] - m[4 * i + 3][s];
          }
        for (int j = 0; j < 2; ++j)  // A^T along the rows
          for (std::int64_t s = 0; s < strip; ++s) {
            out[0][j][s] = cols[0][j][s] + cols[1][j][s] + cols[2][j][s] + bias[o];
            out[1][j][s] = cols[1][j][s] - cols[2][j][s] - cols[3][j][s] + bias[o];
          }
        for (int i = 0; i < 2 && 2 * ty + i < P; ++i) {
          T* row = plane + (2 * ty + i) * Q + 2 * tx0;
          const std::int64_t width = std::min(2 * nt, Q - 2 * tx0);
          for (std::int64_t e = 0; e < width; ++e) row[e] = out[i][e % 2][e / 2];
        }
      }
  });
}

// dM = A g A^T for every tile of g = dL/dy [N, O, P, Q] (zero past the output's edge), the
// adjoint of winograd_outputs: A y = [y0, y0 + y1, y0 - y1, -y1] along each axis. Whole
// strips as in winograd_inputs.
template <class T>
void output_grads(const WinogradGeometry& wg, const T* grad_out, std::int64_t O, Tensor<T>& dM) {
  using winograd_impl::matrix_stride, winograd_impl::strip;
  const BatchConvGeometry& g = wg.g;
  const std::int64_t tiles = wg.tiles(), P = g.out_height, Q = g.out_width, stride = matrix_stride(O, tiles);
  resize_matrices(dM, positions, O, tiles);
  parallel_for(O * g.items, [&](std::int64_t on) {
    const std::int64_t o = on / g.items, n = on % g.items;  // items inner: dM's rows fill in order
    const T* plane = grad_out + (n * O + o) * P * Q;
    T gt[2][2][strip], r[4][2][strip], m[positions][strip];
    for (std::int64_t ty = 0; ty < wg.tile_rows(); ++ty)
      for (std::int64_t tx0 = 0; tx0 < wg.tile_cols(); tx0 += strip) {
        const std::int64_t nt = std::min(strip, wg.tile_cols() - tx0);
        for (int i = 0; i < 2; ++i) {  // the tiles' 2x2 of g: gt[i][j]
          const std::int64_t p = 2 * ty + i;
          for (std::int64_t s = 0; s < strip; ++s) {
            const std::int64_t q = 2 * (tx0 + s);
            const bool inside = p < P && s < nt;
            gt[i][0][s] = inside ? plane[p * Q + q] : T(0);
            gt[i][1][s] = inside && q + 1 < Q ? plane[p * Q + q + 1] : T(0);
          }
        }
        for (int j = 0; j < 2; ++j)  // A along the rows
          for (std::int64_t s = 0; s < strip; ++s) {
            const T g0 = gt[0][j][s], g1 = gt[1][j][s];
            r[0][j][s] = g0, r[1][j][s] = g0 + g1, r[2][j][s] = g0 - g1, r[3][j][s] = -g1;
          }
        for (int i = 0; i < 4; ++i)  // A^T along the columns
          for (std::int64_t s = 0; s < strip; ++s) {
            const T a = r[i][0][s], b = r[i][1][s];
            m[4 * i][s] = a, m[4 * i + 1][s] = a + b, m[4 * i + 2][s] = a - b, m[4 * i + 3][s] = -b;
          }
        T* dst = dM.data() + o * tiles + wg.tile_index(n, ty, tx0);
        for (int xi = 0; xi < positions; ++xi) copy_run(m[xi], dst + xi * stride, nt);
      }
  });
}

}  // namespace farbound::detail::winograd2
