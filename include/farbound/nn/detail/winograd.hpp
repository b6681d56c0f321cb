#pragma once
// A 3x3, stride-1 convolution of a whole batch by Winograd's minimal filtering F(2x2, 3x3)
// (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016).
//
// The output is cut into 2x2 tiles; tile t = (n, ty, tx) reads the 4x4 input patch d_t[c]
// whose corner is (2 ty - pad, 2 tx - pad) (zero outside the image). With
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
//   A^T = [1 1 1 0; 0 1 -1 -1]
// the 2x2 output tile is y_t[o] = b[o] + A^T [ sum_c (G w[o,c] G^T) .* (B^T d_t[c] B) ] A.
// Numbering the 16 positions xi of the 4x4 transformed tiles, the sum over c is 16 matrix
// products, one per xi:
//   U_xi[o, c] = (G w[o,c] G^T)_xi     V_xi[c, t] = (B^T d_t[c] B)_xi     M_xi = U_xi V_xi
// with K = C where the direct lowering has K = 9 C: 16 C multiply-adds per 2x2 outputs
// instead of 36 C, 2.25x fewer. Backward is the adjoint of each linear step (all exact):
//   dM_xi[o, t] = (A g_t[o] A^T)_xi                 (g_t: the tile's 2x2 of dL/dy, zero past the edge)
//   dL/dw[o, c] += G^T [dM V^T]_(o,c) G             (16 products with K = number of tiles)
//   dL/dd_t[c]   = B [U^T dM]_(c,t) B^T, added into dL/dx where the patches overlap
// The transforms add and subtract only; each product is one packed GEMM whose elements are
// fma chains in a fixed order (gemm_kernel.hpp). The 16 products are shared between the
// threads whole, and every transform writes elements of its own, so the bits do not depend on
// the thread count. The numbers differ from the direct sum's by rounding only (the transforms
// of F(2x2, 3x3) have entries 0, +-1, +-1/2).
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/detail/conv_batch_lowering.hpp"
#include "farbound/nn/detail/gemm.hpp"
#include "farbound/nn/detail/im2col.hpp"
#include "farbound/nn/detail/packed_gemm.hpp"

namespace farbound::detail {

namespace winograd_impl {

inline constexpr std::int64_t positions = 16;  // the 4x4 transformed tile
// Tiles a transform handles at once, along a row of tiles: its loops run over them, which
// the compiler vectorises.
inline constexpr std::int64_t strip = 16;

// Elements between the 16 matrices of a [16, rows, cols] buffer: one cache line more than a
// matrix. A transform writes (or reads) all 16 at once; a whole number of megabytes apart,
// as ResNet9's are, the 16 streams would fall into one cache set and evict each other.
inline std::int64_t matrix_stride(std::int64_t rows, std::int64_t cols) { return rows * cols + 16; }

}  // namespace winograd_impl

// The tiles of a batch and the matrices of the 16 products.
struct WinogradGeometry {
  BatchConvGeometry g;  // kernel 3, stride 1

  std::int64_t tile_rows() const { return (g.out_height + 1) / 2; }
  std::int64_t tile_cols() const { return (g.out_width + 1) / 2; }
  std::int64_t tiles_per_item() const { return tile_rows() * tile_cols(); }
  std::int64_t tiles() const { return g.items * tiles_per_item(); }
  // Tile (n, ty, tx) is column n * tiles_per_item() + ty * tile_cols() + tx.
  std::int64_t tile(std::int64_t n, std::int64_t ty, std::int64_t tx) const {
    return n * tiles_per_item() + ty * tile_cols() + tx;
  }
};

// The transformed operands, each 16 matrices winograd_impl::matrix_stride apart.
// weights: U [16][O, C]; inputs: V [16][C, tiles] (in backward also dL/dV); products: M or dM
// [16][O, tiles]; weight_grads: dL/dU [16][O, C].
// `inputs` keeps the forward's V until the backward overwrites it with dL/dV, and
// `inputs_from` records which input (address and geometry) that V was made from: the
// backward that follows its forward (the layer contract) reuses it instead of transforming x
// again (the second transform was about 6 % of ResNet9's step).
template <class T>
struct WinogradWorkspace {
  Tensor<T> weights, inputs, products, weight_grads;
  const T* inputs_from = nullptr;  // null: `inputs` holds no V
  BatchConvGeometry inputs_geometry{};

  bool holds_inputs_of(const WinogradGeometry& wg, const T* x) const { return inputs_from == x && inputs_geometry == wg.g; }
};

// Resizes `buffer` to 16 matrices of rows x cols.
template <class T>
void resize_matrices(Tensor<T>& buffer, std::int64_t rows, std::int64_t cols) {
  buffer.resize({winograd_impl::positions, winograd_impl::matrix_stride(rows, cols)});
}

// U = G w G^T for every (o, c) of w [O, C, 3, 3]:
//   G w = [w0, (w0 + w1 + w2) / 2, (w0 - w1 + w2) / 2, w2] along each axis.
template <class T>
void winograd_weights(const T* w, std::int64_t O, std::int64_t C, Tensor<T>& U) {
  using namespace winograd_impl;
  resize_matrices(U, O, C);
  const std::int64_t stride = matrix_stride(O, C);
  parallel_for(O, [&](std::int64_t o) {
    for (std::int64_t c0 = 0; c0 < C; c0 += strip) {
      const std::int64_t nc = std::min(strip, C - c0);
      T rows[4][3][strip];  // G w: rows[i][j] = (G w)[i, j]
      for (std::int64_t s = 0; s < nc; ++s) {
        const T* k = w + (o * C + c0 + s) * 9;
        for (int j = 0; j < 3; ++j) {
          rows[0][j][s] = k[j];
          rows[1][j][s] = T(0.5) * (k[j] + k[3 + j] + k[6 + j]);
          rows[2][j][s] = T(0.5) * (k[j] - k[3 + j] + k[6 + j]);
          rows[3][j][s] = k[6 + j];
        }
      }
      for (int i = 0; i < 4; ++i) {
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
void winograd_add_weight_grads(const Tensor<T>& dU, std::int64_t O, std::int64_t C, T* grad_w) {
  using namespace winograd_impl;
  const std::int64_t stride = matrix_stride(O, C);
  parallel_for(O, [&](std::int64_t o) {
    for (std::int64_t c0 = 0; c0 < C; c0 += strip) {
      const std::int64_t nc = std::min(strip, C - c0);
      T cols[4][3][strip];  // dU G along the columns: cols[i][j]
      for (int i = 0; i < 4; ++i) {
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
        for (int j = 0; j < 3; ++j) {
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
void winograd_inputs(const WinogradGeometry& wg, const T* x, Tensor<T>& V) {
  using namespace winograd_impl;
  const BatchConvGeometry& g = wg.g;
  const std::int64_t tiles = wg.tiles(), C = g.channels, stride = matrix_stride(C, tiles);
  resize_matrices(V, C, tiles);
  parallel_for(C * g.items, [&](std::int64_t cn) {
    const std::int64_t c = cn / g.items, n = cn % g.items;  // items inner: V's rows fill in order
    const T* plane = x + (n * C + c) * g.height * g.width;
    T even[4][strip + 1], odd[4][strip + 1], ve[4][strip + 1], vo[4][strip + 1], v[positions][strip];
    for (std::int64_t ty = 0; ty < wg.tile_rows(); ++ty)
      for (std::int64_t tx0 = 0; tx0 < wg.tile_cols(); tx0 += strip) {
        const std::int64_t nt = std::min(strip, wg.tile_cols() - tx0);
        for (int i = 0; i < 4; ++i) {
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
        for (int i = 0; i < 4; ++i)  // B along the columns
          for (std::int64_t s = 0; s < strip; ++s) {
            v[4 * i][s] = ve[i][s] - ve[i][s + 1];
            v[4 * i + 1][s] = vo[i][s] + ve[i][s + 1];
            v[4 * i + 2][s] = ve[i][s + 1] - vo[i][s];
            v[4 * i + 3][s] = vo[i][s] - vo[i][s + 1];
          }
        T* dst = V.data() + c * tiles + wg.tile(n, ty, tx0);
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
void winograd_input_grads(const WinogradGeometry& wg, const Tensor<T>& dV, T* grad_in) {
  using namespace winograd_impl;
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
        const T* src = dV.data() + c * tiles + wg.tile(n, ty, tx0);
        for (int xi = 0; xi < positions; ++xi) copy_run(src + xi * stride, v[xi], nt);
        for (int i = 0; i < 4; ++i)  // B^T along the columns
          for (std::int64_t s = 0; s < strip; ++s) {
            const T v0 = v[4 * i][s], v1 = v[4 * i + 1][s], v2 = v[4 * i + 2][s], v3 = v[4 * i + 3][s];
            rows[i][0][s] = v0, rows[i][1][s] = v1 - v2 + v3, rows[i][2][s] = v1 + v2 - v0, rows[i][3][s] = -v3;
          }
        for (int i = 0; i < 4; ++i) {  // B along the rows, then added into image row h
          const std::int64_t h = 2 * ty - g.padding + i;
          if (h < 0 || h >= g.height) continue;
          for (int j = 0; j < 4; ++j)
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
void winograd_outputs(const WinogradGeometry& wg, const Tensor<T>& M, const T* bias, std::int64_t O, T* y) {
  using namespace winograd_impl;
  const BatchConvGeometry& g = wg.g;
  const std::int64_t tiles = wg.tiles(), P = g.out_height, Q = g.out_width, stride = matrix_stride(O, tiles);
  parallel_for(O * g.items, [&](std::int64_t on) {
    const std::int64_t o = on / g.items, n = on % g.items;  // items inner: M's rows read in order
    T* plane = y + (n * O + o) * P * Q;
    T m[positions][strip] = {}, cols[4][2][strip], out[2][2][strip];
    for (std::int64_t ty = 0; ty < wg.tile_rows(); ++ty)
      for (std::int64_t tx0 = 0; tx0 < wg.tile_cols(); tx0 += strip) {
        const std::int64_t nt = std::min(strip, wg.tile_cols() - tx0);
        const T* src = M.data() + o * tiles + wg.tile(n, ty, tx0);
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
void winograd_output_grads(const WinogradGeometry& wg, const T* grad_out, std::int64_t O, Tensor<T>& dM) {
  using namespace winograd_impl;
  const BatchConvGeometry& g = wg.g;
  const std::int64_t tiles = wg.tiles(), P = g.out_height, Q = g.out_width, stride = matrix_stride(O, tiles);
  resize_matrices(dM, O, tiles);
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
        T* dst = dM.data() + o * tiles + wg.tile(n, ty, tx0);
        for (int xi = 0; xi < positions; ++xi) copy_run(m[xi], dst + xi * stride, nt);
      }
  });
}

// The 16 products C_xi = A_xi B_xi, shared between the threads whole. a(xi), b(xi) give
// the packers of product xi, c(xi) its output.
template <class T, class AOf, class BOf, class COf>
void winograd_products(std::int64_t M, std::int64_t N, std::int64_t K, AOf a, BOf b, COf c) {
  parallel_for(winograd_impl::positions, [&](std::int64_t xi) { packed_gemm<T>(0, M, 0, N, K, a(xi), b(xi), c(xi), false); });
}

// y = conv(x, w) + b.
template <class T>
void winograd_forward(const WinogradGeometry& wg, const T* x, const T* w, const T* bias, std::int64_t O, T* y,
                      WinogradWorkspace<T>& ws) {
  using winograd_impl::matrix_stride;
  const std::int64_t C = wg.g.channels, tiles = wg.tiles();
  winograd_weights(w, O, C, ws.weights);
  winograd_inputs(wg, x, ws.inputs);
  ws.inputs_from = x;
  ws.inputs_geometry = wg.g;
  resize_matrices(ws.products, O, tiles);
  winograd_products<T>(
      O, tiles, C, [&](std::int64_t xi) { return StridedMatrix<T>{ws.weights.data() + xi * matrix_stride(O, C), C, 1}; },
      [&](std::int64_t xi) { return StridedRows<T>{ws.inputs.data() + xi * matrix_stride(C, tiles), tiles}; },
      [&](std::int64_t xi) { return StridedC<T>{ws.products.data() + xi * matrix_stride(O, tiles), tiles}; });
  winograd_outputs(wg, ws.products, bias, O, y);
}

// V kept from the forward equals V made from x now: the input did not change in between.
template <class T>
void require_inputs_unchanged(const WinogradGeometry& wg, const T* x, const Tensor<T>& V) {
  const std::int64_t C = wg.g.channels, tiles = wg.tiles(), stride = winograd_impl::matrix_stride(C, tiles);
  Tensor<T> fresh;
  winograd_inputs(wg, x, fresh);
  for (std::int64_t xi = 0; xi < winograd_impl::positions; ++xi)
    if (std::memcmp(V.data() + xi * stride, fresh.data() + xi * stride, std::size_t(C * tiles) * sizeof(T)) != 0)
      throw argument_error("Conv2d (Winograd) backward: the input changed after its forward (nn/layer.hpp: a layer "
                           "may keep what its forward computed from the input)");
}

// dL/dw += (when grad_w) and dL/dx = (when grad_in) for g = dL/dy.
template <class T>
void winograd_backward(const WinogradGeometry& wg, const T* x, const T* w, const T* grad_out, std::int64_t O,
                       T* grad_w, T* grad_in, WinogradWorkspace<T>& ws) {
  using winograd_impl::matrix_stride;
  const std::int64_t C = wg.g.channels, tiles = wg.tiles();
  winograd_output_grads(wg, grad_out, O, ws.products);
  T* const dM = ws.products.data();
  if (grad_w) {
    if (!ws.holds_inputs_of(wg, x)) winograd_inputs(wg, x, ws.inputs);
#ifndef NDEBUG
    else require_inputs_unchanged(wg, x, ws.inputs);  // debug builds check the layer contract
#endif
    resize_matrices(ws.weight_grads, O, C);
    winograd_products<T>(
        O, C, tiles, [&](std::int64_t xi) { return StridedMatrix<T>{dM + xi * matrix_stride(O, tiles), tiles, 1}; },
        [&](std::int64_t xi) {
          return Transposed<StridedRows<T>>{{ws.inputs.data() + xi * matrix_stride(C, tiles), tiles}};
        },
        [&](std::int64_t xi) { return StridedC<T>{ws.weight_grads.data() + xi * matrix_stride(O, C), C}; });
    winograd_add_weight_grads(ws.weight_grads, O, C, grad_w);
  }
  if (!grad_in) return;
  winograd_weights(w, O, C, ws.weights);
  resize_matrices(ws.inputs, C, tiles);  // now dL/dV
  ws.inputs_from = nullptr;
  winograd_products<T>(
      C, tiles, O, [&](std::int64_t xi) { return StridedMatrix<T>{ws.weights.data() + xi * matrix_stride(O, C), 1, C}; },
      [&](std::int64_t xi) { return StridedRows<T>{dM + xi * matrix_stride(O, tiles), tiles}; },
      [&](std::int64_t xi) { return StridedC<T>{ws.inputs.data() + xi * matrix_stride(C, tiles), tiles}; });
  winograd_input_grads(wg, ws.inputs, grad_in);
}

}  // namespace farbound::detail
