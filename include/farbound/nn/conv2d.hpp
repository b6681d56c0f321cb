#pragma once
// Conv2d: 2-D convolution (cross-correlation, as PyTorch's nn.Conv2d) with a square kernel.
//
// x is [N, C, H, W], W is [O, C, k, k], b is [O], y is [N, O, P, Q] with
//   P = (H + 2*pad - k) / s + 1,  Q = (W + 2*pad - k) / s + 1
//   y[n, o, p, q] = b[o] + sum_{c,i,j} W[o, c, i, j] x[n, c, p*s - pad + i, q*s - pad + j]
// Per item, with col = im2col(x[n]) ([C*k*k, P*Q], see detail/im2col.hpp) and
// g = dL/dy[n] as an [O, P*Q] matrix:
//   y[n]     = b 1^T + W col          forward                 (gemm)
//   dL/dW   += g col^T                weight gradient         (gemm_nt: both contiguous along P*Q)
//   dL/db   += g 1                    bias gradient
//   dL/dx[n] = col2im(W^T g)          input gradient (gemm; skipped when not asked for)
// Items run in parallel, each thread on its own column buffers. Parameter gradients are
// summed per fixed chunk of items into a partial buffer, and the partials are added in
// chunk order: the chunks depend only on the batch size, so the sums do not depend on the
// thread count.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/shape.hpp"
#include "farbound/core/simd.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/detail/thread_slots.hpp"
#include "farbound/nn/detail/gemm.hpp"
#include "farbound/nn/detail/im2col.hpp"
#include "farbound/nn/detail/window.hpp"
#include "farbound/nn/init.hpp"
#include "farbound/nn/layer.hpp"

namespace farbound {

template <class T>
class Conv2d final : public Layer<T> {
 public:
  Parameter<T> weight;  // [out, in, k, k]
  Parameter<T> bias;    // [out]

  Conv2d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel, std::int64_t stride = 1,
         std::int64_t padding = 0)
      : weight("weight", checked_weight_shape(in_channels, out_channels, kernel, stride, padding)),
        bias("bias", {out_channels}),
        window_{kernel, stride, padding},
        in_(in_channels),
        out_(out_channels) {}

  std::int64_t in_channels() const { return in_; }
  std::int64_t out_channels() const { return out_; }
  const detail::WindowGeometry& window() const { return window_; }

  std::string describe() const override {
    return "Conv2d(" + std::to_string(in_) + " -> " + std::to_string(out_) + ", kernel " +
           std::to_string(window_.kernel) + ", stride " + std::to_string(window_.stride) + ", padding " +
           std::to_string(window_.padding) + ")";
  }

  Shape output_shape(const Shape& input) const override {
    return window_.output_shape(input, in_, out_, [this] { return describe(); });
  }

  void forward(TensorView<const T> in, Tensor<T>& out) override {
    out.resize(output_shape(in.shape()));
    const auto g = item_geometry(in.shape());
    const std::int64_t R = g.col_rows(), PQ = g.col_cols(), O = out_;
    const detail::ThreadSlots slots;
    columns_.resize({slots.count(), R * PQ});
    parallel_for(in.size(0), [&](std::int64_t n) {
      T* col = columns_.data() + slots.index() * R * PQ;
      detail::im2col(g, in.data() + n * g.item_numel(), col);
      T* y = out.data() + n * O * PQ;
      for (std::int64_t o = 0; o < O; ++o) std::fill_n(y + o * PQ, PQ, bias.value[o]);
      detail::gemm<T>(O, PQ, R, {weight.value.data(), R, 1}, col, PQ, y, PQ, detail::GemmOutput::accumulate);
    });
  }

  void backward(TensorView<const T> in, TensorView<const T> out, TensorView<const T> grad_out, Tensor<T>* grad_in,
                ParamGrads param_grads) override {
    const Shape expected = output_shape(in.shape());
    require_same_shape(out.shape(), expected, "Conv2d::backward (output vs layer output)");
    require_same_shape(grad_out.shape(), expected, "Conv2d::backward (grad_out vs layer output)");
    const bool params = param_grads == ParamGrads::accumulate;
    if (!params && !grad_in) return;

    const auto g = item_geometry(in.shape());
    const std::int64_t N = in.size(0), R = g.col_rows(), PQ = g.col_cols(), O = out_;
    const std::int64_t partial_size = O * R + O;  // one chunk's dL/dW then dL/db
    const std::int64_t chunk = params ? gradient_chunk(N, partial_size) : 1;
    const std::int64_t chunks = chunk_count(N, chunk);
    const detail::ThreadSlots slots;
    columns_.resize({slots.count(), 2 * R * PQ});  // im2col, then W^T g
    if (params) partials_.resize({chunks, partial_size});
    if (grad_in) grad_in->resize(in.shape());

    parallel_for(chunks, [&](std::int64_t c) {
      T* col = columns_.data() + slots.index() * 2 * R * PQ;
      T* col_grad = col + R * PQ;
      T* partial = params ? partials_.data() + c * partial_size : nullptr;
      if (params) std::fill_n(partial, partial_size, T(0));
      for (std::int64_t n = c * chunk; n < std::min(N, (c + 1) * chunk); ++n) {
        const T* gy = grad_out.data() + n * O * PQ;
        if (params) {
          detail::im2col(g, in.data() + n * g.item_numel(), col);
          detail::gemm_nt<T>(O, R, PQ, gy, PQ, col, PQ, partial, R, detail::GemmOutput::accumulate);
          for (std::int64_t o = 0; o < O; ++o) partial[O * R + o] += simd::sum(gy + o * PQ, std::size_t(PQ));
        }
        if (grad_in) {
          detail::gemm<T>(R, PQ, O, {weight.value.data(), 1, R}, gy, PQ, col_grad, PQ, detail::GemmOutput::overwrite);
          T* dx = grad_in->data() + n * g.item_numel();
          std::fill_n(dx, g.item_numel(), T(0));
          detail::col2im_add(g, col_grad, dx);
        }
      }
    });

    if (params) {
      // Element-wise over the parameters, each element summing the chunks in order.
      parallel_chunks(partial_size, 4096, [&](std::int64_t first, std::int64_t last) {
        for (std::int64_t c = 0; c < chunks; ++c) {
          const T* partial = partials_.data() + c * partial_size;
          for (std::int64_t e = first; e < last; ++e) {
            T& dst = e < O * R ? weight.grad[e] : bias.grad[e - O * R];
            dst += partial[e];
          }
        }
      });
    }
  }

  void collect_parameters(std::vector<Parameter<T>*>& ps) override {
    ps.push_back(&weight);
    ps.push_back(&bias);
  }

  void reset_parameters(std::uint64_t seed, std::uint32_t layer_index) override {
    init_default(weight, &bias, in_ * window_.kernel * window_.kernel, seed, layer_index);
  }

 private:
  // Partial parameter-gradient buffers are capped at this many elements in all; the chunk
  // size follows from the batch size and the layer size alone.
  static constexpr std::int64_t partial_budget = std::int64_t(1) << 22;

  static std::int64_t gradient_chunk(std::int64_t n, std::int64_t partial_size) {
    const std::int64_t max_chunks = std::max<std::int64_t>(1, partial_budget / partial_size);
    const std::int64_t chunks = std::min(n, max_chunks);
    return (n + chunks - 1) / chunks;
  }

  static Shape checked_weight_shape(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride,
                                    std::int64_t padding) {
    if (in < 1 || out < 1)
      throw argument_error("Conv2d: channels must be >= 1, got in " + std::to_string(in) + ", out " +
                           std::to_string(out));
    detail::WindowGeometry{kernel, stride, padding}.validate("Conv2d");
    return {out, in, kernel, kernel};
  }

  detail::ConvItemGeometry item_geometry(const Shape& input) const {
    return {window_, input[1], input[2], input[3], window_.out_extent(input[2]), window_.out_extent(input[3])};
  }

  detail::WindowGeometry window_;
  std::int64_t in_, out_;
  Tensor<T> columns_;   // [threads, 2 * C*k*k * P*Q]: im2col and W^T g of a thread's item
  Tensor<T> partials_;      // [chunks, O*C*k*k + O]: parameter gradients per chunk of items
};

}  // namespace farbound
