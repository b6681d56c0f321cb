#pragma once
// A 3x3, stride-1 convolution of a whole batch by Winograd's minimal filtering F(m x m, 3x3)
// (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016), with output
// tiles of m = 2 (winograd_f2.hpp) or m = 4 (winograd_f4.hpp) outputs on a side.
//
// The output is cut into m x m tiles; tile t = (n, ty, tx) reads the (m + 2) x (m + 2) input
// patch d_t[c] whose corner is (m ty - pad, m tx - pad) (zero outside the image). With the
// variant's matrices B^T, G and A^T the output tile is
//   y_t[o] = b[o] + A^T [ sum_c (G w[o,c] G^T) .* (B^T d_t[c] B) ] A.
// Numbering the P = (m + 2)^2 positions xi of the transformed tiles, the sum over c is P
// matrix products, one per xi:
//   U_xi[o, c] = (G w[o,c] G^T)_xi     V_xi[c, t] = (B^T d_t[c] B)_xi     M_xi = U_xi V_xi
// with K = C where the direct lowering has K = 9 C: (m + 2)^2 C multiply-adds per m^2
// outputs instead of 9 m^2 C, 2.25x fewer for m = 2 and 4x for m = 4. Backward is the
// adjoint of each linear step (all exact):
//   dM_xi[o, t] = (A g_t[o] A^T)_xi                 (g_t: the tile's m x m of dL/dy, zero past the edge)
//   dL/dw[o, c] += G^T [dM V^T]_(o,c) G             (P products with K = number of tiles)
//   dL/dd_t[c]   = B [U^T dM]_(c,t) B^T, added into dL/dx where the patches overlap
// Each product is one GEMM whose elements are fma chains in a fixed order (gemm_kernel.hpp),
// whichever path runs it. The products are shared between the threads whole, and every transform
// writes elements of its own, so the bits do not depend on the thread count. The numbers
// differ from the direct sum's by rounding only.
#include <cstdint>
#include <cstring>
#include <string>

#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/detail/conv_batch_lowering.hpp"
#include "farbound/nn/detail/gemm.hpp"
#include "farbound/nn/detail/packed_gemm.hpp"
#include "farbound/nn/detail/winograd_f2.hpp"
#include "farbound/nn/detail/winograd_f4.hpp"
#include "farbound/nn/detail/winograd_geometry.hpp"

namespace farbound::detail {

// Which tensor (address) and geometry a kept transform was made from.
template <class T>
struct KeptFrom {
  const T* from = nullptr;  // null: nothing kept
  WinogradGeometry geometry{};

  bool holds(const WinogradGeometry& wg, const T* source) const { return from == source && geometry == wg; }
};

// The transformed operands, each P matrices winograd_impl::matrix_stride apart.
// weights: U [P][O, C]; inputs: V [P][C, tiles] (in backward also dL/dV); products: M or dM
// [P][O, tiles]; weight_grads: dL/dU [P][O, C].
// `inputs` keeps the forward's V until the backward overwrites it with dL/dV, and
// `inputs_from` records which input (address and geometry) that V was made from: the
// backward that follows its forward (the layer contract) reuses it instead of transforming x
// again (the second transform was about 6 % of ResNet9's step). Likewise `weights_from` for
// U, which the input gradient needs (F(4x4, 3x3)'s U of a 512 -> 512 layer is 36 MB).
template <class T>
struct WinogradWorkspace {
  Tensor<T> weights, inputs, products, weight_grads;
  KeptFrom<T> inputs_from, weights_from;
};

// The transforms of the geometry's variant (WinogradGeometry::tile: 2 or 4).
template <class T>
void winograd_weights(const WinogradGeometry& wg, const T* w, std::int64_t O, Tensor<T>& U) {
  if (wg.tile == 4) return winograd4::weights(w, O, wg.g.channels, U);
  winograd2::weights(w, O, wg.g.channels, U);
}
template <class T>
void winograd_add_weight_grads(const WinogradGeometry& wg, const Tensor<T>& dU, std::int64_t O, T* grad_w) {
  if (wg.tile == 4) return winograd4::add_weight_grads(dU, O, wg.g.channels, grad_w);
  winograd2::add_weight_grads(dU, O, wg.g.channels, grad_w);
}
template <class T>
void winograd_inputs(const WinogradGeometry& wg, const T* x, Tensor<T>& V) {
  if (wg.tile == 4) return winograd4::inputs(wg, x, V);
  winograd2::inputs(wg, x, V);
}
template <class T>
void winograd_input_grads(const WinogradGeometry& wg, const Tensor<T>& dV, T* grad_in) {
  if (wg.tile == 4) return winograd4::input_grads(wg, dV, grad_in);
  winograd2::input_grads(wg, dV, grad_in);
}
template <class T>
void winograd_outputs(const WinogradGeometry& wg, const Tensor<T>& M, const T* bias, std::int64_t O, T* y) {
  if (wg.tile == 4) return winograd4::outputs(wg, M, bias, O, y);
  winograd2::outputs(wg, M, bias, O, y);
}
template <class T>
void winograd_output_grads(const WinogradGeometry& wg, const T* grad_out, std::int64_t O, Tensor<T>& dM) {
  if (wg.tile == 4) return winograd4::output_grads(wg, grad_out, O, dM);
  winograd2::output_grads(wg, grad_out, O, dM);
}

// Runs product(xi), the product of position xi, for every position, the products shared
// between the threads whole. The forward's and the input gradient's products go through gemm,
// which picks the path: their B (tiles columns, 64-512 KB in ResNet9) is mostly streamed,
// which on an Intel Xeon core ran 1.1-1.4x faster than the packed path with its B block in L3
// at every ResNet9 shape, and 1.0-1.2x faster than it since, with that block in L2
// (docs/performance.md); the weight gradient's (K = tiles, B^T) are always packed.
template <class Product>
void winograd_products(const WinogradGeometry& wg, Product product) {
  parallel_for(wg.positions(), product);
}

// y = conv(x, w) + b.
template <class T>
void winograd_forward(const WinogradGeometry& wg, const T* x, const T* w, const T* bias, std::int64_t O, T* y,
                      WinogradWorkspace<T>& ws) {
  using winograd_impl::matrix_stride;
  const std::int64_t C = wg.g.channels, tiles = wg.tiles();
  winograd_weights(wg, w, O, ws.weights);
  ws.weights_from = {w, wg};
  winograd_inputs(wg, x, ws.inputs);
  ws.inputs_from = {x, wg};
  resize_matrices(ws.products, wg.positions(), O, tiles);
  winograd_products(wg, [&](std::int64_t xi) {
    gemm<T>(O, tiles, C, StridedMatrix<T>{ws.weights.data() + xi * matrix_stride(O, C), C, 1},
            StridedRows<T>{ws.inputs.data() + xi * matrix_stride(C, tiles), tiles},
            ws.products.data() + xi * matrix_stride(O, tiles), tiles, GemmOutput::overwrite);
  });
  winograd_outputs(wg, ws.products, bias, O, y);
}

// What the forward kept, V or U (`kept`, rows x cols per position), equals `fresh`, made
// now: the input or the weights did not change in between.
template <class T>
void require_unchanged(const WinogradGeometry& wg, const Tensor<T>& kept, const Tensor<T>& fresh, std::int64_t rows,
                       std::int64_t cols, const char* what) {
  const std::int64_t stride = winograd_impl::matrix_stride(rows, cols);
  for (std::int64_t xi = 0; xi < wg.positions(); ++xi)
    if (std::memcmp(kept.data() + xi * stride, fresh.data() + xi * stride, std::size_t(rows * cols) * sizeof(T)) != 0)
      throw argument_error(std::string("Conv2d (Winograd) backward: the ") + what +
                           " changed after its forward (nn/layer.hpp: a layer may keep what its forward computed "
                           "from them)");
}

// Makes sure `buffer` holds the transform of `source` (rows x cols per position): kept from
// the forward when `kept` says so (debug builds check that it still matches, the layer
// contract), else transform(buffer) now.
template <class T, class Transform>
void reuse_or_transform(const WinogradGeometry& wg, KeptFrom<T>& kept, const T* source, Tensor<T>& buffer,
                        std::int64_t rows, std::int64_t cols, const char* what, Transform transform) {
  if (!kept.holds(wg, source)) {
    transform(buffer);
    kept = {source, wg};
    return;
  }
#ifndef NDEBUG
  Tensor<T> fresh;
  transform(fresh);
  require_unchanged(wg, buffer, fresh, rows, cols, what);
#else
  (void)rows, (void)cols, (void)what;
#endif
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
    reuse_or_transform(wg, ws.inputs_from, x, ws.inputs, C, tiles, "input",
                       [&](Tensor<T>& V) { winograd_inputs(wg, x, V); });
    resize_matrices(ws.weight_grads, wg.positions(), O, C);
    winograd_products(wg, [&](std::int64_t xi) {
      packed_gemm<T>(0, O, 0, C, tiles, StridedMatrix<T>{dM + xi * matrix_stride(O, tiles), tiles, 1},
                     Transposed<StridedRows<T>>{{ws.inputs.data() + xi * matrix_stride(C, tiles), tiles}},
                     StridedC<T>{ws.weight_grads.data() + xi * matrix_stride(O, C), C}, false);
    });
    winograd_add_weight_grads(wg, ws.weight_grads, O, grad_w);
  }
  if (!grad_in) return;
  reuse_or_transform(wg, ws.weights_from, w, ws.weights, O, C, "weights",
                     [&](Tensor<T>& U) { winograd_weights(wg, w, O, U); });
  resize_matrices(ws.inputs, wg.positions(), C, tiles);  // now dL/dV
  ws.inputs_from = {};
  winograd_products(wg, [&](std::int64_t xi) {
    gemm<T>(C, tiles, O, StridedMatrix<T>{ws.weights.data() + xi * matrix_stride(O, C), 1, C},
            StridedRows<T>{dM + xi * matrix_stride(O, tiles), tiles}, ws.inputs.data() + xi * matrix_stride(C, tiles),
            tiles, GemmOutput::overwrite);
  });
  winograd_input_grads(wg, ws.inputs, grad_in);
}

}  // namespace farbound::detail
