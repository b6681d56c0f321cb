#pragma once
// Conv2d: 2-D convolution (cross-correlation, as PyTorch's nn.Conv2d) with a square kernel.
//
// x is [N, C, H, W], W is [O, C, k, k], b is [O], y is [N, O, P, Q] with
//   P = (H + 2*pad - k) / s + 1,  Q = (W + 2*pad - k) / s + 1
//   y[n, o, p, q] = b[o] + sum_{c,i,j} W[o, c, i, j] x[n, c, p*s - pad + i, q*s - pad + j]
// Wide 3x3 stride-1 layers (many channels on both sides) run the whole batch by Winograd's
// F(4x4, 3x3) or F(2x2, 3x3) (detail/winograd.hpp; see lowers_by_winograd), stride-1 layers
// with many channels on small planes as three packed GEMMs (detail/conv_batch_lowering.hpp;
// see lowers_whole_batch). Otherwise each item is lowered
// to matrix products (detail/conv_lowering.hpp): its input becomes R = C*k*k rows of length
// L (stride 1: shifted runs of the image read in place; other strides: im2col), its outputs
// P rows of `pitch` columns (the first Q real). With g the output gradient laid out the same
// way (zeros in the gap columns):
//   y[n]     = b 1^T + W rows         forward                   (gemm; on AVX-512, stride-1 kernels
//                                     of 2-7 whose output channels fill more than half a register
//                                     instead with lanes over them, detail/conv_forward_over_outputs.hpp)
//   dL/dW   += g rows^T               weight gradient           (gemm_nt: both contiguous along L;
//                                     stride-1 kernels of 2-7 instead with lanes over the output
//                                     channels, detail/conv_weight_grad.hpp)
//   dL/db   += g 1                    bias gradient
//   dL/dx[n] = adjoint(W^T g)         input gradient (gemm on g's own P*Q columns, no gaps;
//                                     skipped when not asked for, which is the first layer of
//                                     every training step; with at most 8 output channels
//                                     instead a direct correlation over a zero-padded g,
//                                     detail/conv_input_grad_direct.hpp)
// Items run in parallel, each thread on its own workspaces. Parameter gradients are summed
// per fixed chunk of items into a partial buffer, and the partials are added in chunk order
// into the first, then onto the gradient: the chunks depend only on the batch and layer
// sizes, so the sums do not depend on the thread count.
#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "farbound/core/parallel.hpp"
#include "farbound/core/shape.hpp"
#include "farbound/core/simd.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/detail/thread_slots.hpp"
#include "farbound/nn/detail/gemm.hpp"
#include "farbound/nn/detail/conv_batch_lowering.hpp"
#include "farbound/nn/detail/conv_forward_over_outputs.hpp"
#include "farbound/nn/detail/conv_input_grad_direct.hpp"
#include "farbound/nn/detail/conv_lowering.hpp"
#include "farbound/nn/detail/conv_weight_grad.hpp"
#include "farbound/nn/detail/im2col.hpp"
#include "farbound/nn/detail/window.hpp"
#include "farbound/nn/detail/winograd.hpp"
#include "farbound/nn/init.hpp"
#include "farbound/nn/layer.hpp"

namespace farbound {

// 2-D convolution, NCHW, with stride, padding and bias.
template <class T>
class Conv2d final : public Layer<T> {
 public:
  Parameter<T> weight;  // [out, in, k, k]
  Parameter<T> bias;    // [out]

  // A convolution of `in_channels` to `out_channels` with a square `kernel`, `stride` and zero `padding`.
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel, std::int64_t stride = 1,
         std::int64_t padding = 0)
      : weight("weight", detail::WindowGeometry{kernel, stride, padding}.weight_shape(in_channels, out_channels, "Conv2d")),
        bias("bias", {out_channels}),
        window_{kernel, stride, padding},
        in_(in_channels),
        out_(out_channels) {}

  // Input channels.
  std::int64_t in_channels() const { return in_; }
  // Output channels.
  std::int64_t out_channels() const { return out_; }
  // Kernel, stride and padding.
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
    if (lowers_by_winograd())
      return detail::winograd_forward(winograd_geometry(in.shape()), in.data(), weight.value.data(), bias.value.data(),
                                      out_, out.data(), winograd_);
    if (lowers_whole_batch(in.shape())) return forward_batch(in, out);
    with_lowering(in.shape(), [&](const auto& lowering) { forward_items(lowering, in, out); });
  }

  void backward(TensorView<const T> in, TensorView<const T> out, TensorView<const T> grad_out, Tensor<T>* grad_in,
                ParamGrads param_grads) override {
    const Shape expected = output_shape(in.shape());
    require_same_shape(out.shape(), expected, "Conv2d::backward (output vs layer output)");
    require_same_shape(grad_out.shape(), expected, "Conv2d::backward (grad_out vs layer output)");
    const bool params = param_grads == ParamGrads::accumulate;
    if (!params && !grad_in) return;
    if (grad_in) grad_in->resize(in.shape());
    if (lowers_by_winograd()) {
      detail::winograd_backward(winograd_geometry(in.shape()), in.data(), weight.value.data(), grad_out.data(), out_,
                                params ? weight.grad.data() : nullptr, grad_in ? grad_in->data() : nullptr, winograd_);
      if (params) add_bias_grad(grad_out);
      return;
    }
    if (lowers_whole_batch(in.shape())) return backward_batch(in, grad_out, grad_in, params);
    with_lowering(in.shape(), [&](const auto& lowering) { backward_items(lowering, in, grad_out, grad_in, params); });
  }

  void collect_parameters(std::vector<Parameter<T>*>& ps) override {
    ps.push_back(&weight);
    ps.push_back(&bias);
  }

  void reset_parameters(std::uint64_t seed, std::uint32_t layer_index) override {
    init_default(weight, &bias, in_ * window_.kernel * window_.kernel, seed, layer_index);
  }

 private:
  // Partial parameter-gradient buffers: at most partial_budget elements in all and at most
  // max_partial_chunks of them, so the chunk size follows from the batch and layer sizes
  // alone. Each is zeroed and summed once per backward pass (one per image cost about 3% of
  // LeNet's step at 128 images); 32 still split evenly over the threads of a large machine.
  static constexpr std::int64_t partial_budget = std::int64_t(1) << 22, max_partial_chunks = 32;

  // Layers that Winograd does not take run as three GEMMs over the whole batch where each
  // image's products would be too narrow to pay for their packing: 64+ input and 32+ output
  // channels on planes of at most 36 outputs (N = P*Q per image; e.g. 512 -> 512, 1 x 1 on
  // 4 x 4: 2.8x faster over the batch). Elsewhere the image-by-image kernels were within 3 %
  // or faster at every shape measured (docs/performance.md): ResNet9's RGB input layer,
  // 3 -> 32 on 32 x 32, 3.5x. The batch lowering needs stride 1 and padding < kernel (its
  // input gradient is a convolution with padding k-1-pad).
  static constexpr std::int64_t min_batch_lowering_inputs = 64, min_batch_lowering_outputs = 32,
                                max_batch_lowering_positions = 36;
  bool lowers_whole_batch(const Shape& input) const {
    return in_ >= min_batch_lowering_inputs && out_ >= min_batch_lowering_outputs &&
           batch_geometry(input).positions() <= max_batch_lowering_positions && window_.stride == 1 &&
           window_.padding < window_.kernel;
  }

  // dL/db[o] += the sum of g over items and positions, item by item.
  void add_bias_grad(TensorView<const T> grad_out) {
    const std::int64_t N = grad_out.size(0), PQ = grad_out.size(2) * grad_out.size(3);
    parallel_for(out_, [&](std::int64_t o) {
      for (std::int64_t n = 0; n < N; ++n) bias.grad[o] += simd::sum(grad_out.data() + (n * out_ + o) * PQ, std::size_t(PQ));
    });
  }

  // 3x3 stride-1 layers with many channels on both sides run by Winograd's minimal filtering
  // (detail/winograd.hpp), 2.25x or 4x fewer multiply-adds than a direct lowering. Its
  // transforms cost about (1/C + 1/O) of the products' work; measured in ResNet9
  // (docs/performance.md), Winograd wins at every layer with 1/C + 1/O <= 1/21, from 32 -> 64
  // channels on; the RGB input layer (3 -> 32) runs image by image.
  bool lowers_by_winograd() const {
    return window_.kernel == 3 && window_.stride == 1 && window_.padding <= 2 && 21 * (in_ + out_) <= in_ * out_;
  }
  // F(4x4, 3x3) where its products take fewer multiply-adds than F(2x2, 3x3)'s (36 per 4x4
  // tile against 16 per 2x2): faster at every 3x3 layer of ResNet9 (benchmarks/winograd); on
  // a tie (5 x 5 and 6 x 6 outputs) F(2x2, 3x3), which rounds less.
  detail::WinogradGeometry winograd_geometry(const Shape& input) const {
    const detail::WinogradGeometry small{batch_geometry(input), 2}, large{batch_geometry(input), 4};
    return large.multiply_adds_per_item() < small.multiply_adds_per_item() ? large : small;
  }

  detail::BatchConvGeometry batch_geometry(const Shape& input) const {
    return {input[0], input[1], input[2], input[3], window_.kernel, window_.padding, window_.out_extent(input[2]),
            window_.out_extent(input[3])};
  }

  void forward_batch(TensorView<const T> in, Tensor<T>& out) {
    const detail::BatchConvGeometry g = batch_geometry(in.shape());
    const std::int64_t PQ = g.positions();
    parallel_for(g.items * out_, [&](std::int64_t no) { std::fill_n(out.data() + no * PQ, PQ, bias.value[no % out_]); });
    detail::parallel_packed_gemm<T>(out_, g.columns(), g.rows(), detail::StridedMatrix<T>{weight.value.data(), g.rows(), 1},
                                    detail::ImplicitIm2col<T>{g, in.data()}, detail::ItemMatrix<T>{out.data(), out_, PQ},
                                    true);
  }

  void backward_batch(TensorView<const T> in, TensorView<const T> grad_out, Tensor<T>* grad_in, bool params) {
    const detail::BatchConvGeometry g = batch_geometry(in.shape());
    const std::int64_t R = g.rows(), PQ = g.positions(), k = window_.kernel, kk = k * k;
    if (params) {
      detail::parallel_packed_gemm<T>(out_, R, g.columns(), detail::ItemMatrix<const T>{grad_out.data(), out_, PQ},
                                      detail::ImplicitIm2colTransposed<T>{g, in.data()},
                                      detail::StridedC<T>{weight.grad.data(), R}, true);
      add_bias_grad(grad_out);
    }
    if (!grad_in) return;
    flipped_.resize({in_, out_ * kk});
    detail::flip_kernels(weight.value.data(), out_, in_, kk, flipped_.data());
    const detail::BatchConvGeometry adjoint{g.items, out_, g.out_height, g.out_width, k, k - 1 - window_.padding,
                                            g.height, g.width};
    detail::parallel_packed_gemm<T>(in_, adjoint.columns(), adjoint.rows(),
                                    detail::StridedMatrix<T>{flipped_.data(), adjoint.rows(), 1},
                                    detail::ImplicitIm2col<T>{adjoint, grad_out.data()},
                                    detail::ItemMatrix<T>{grad_in->data(), in_, g.height * g.width}, false);
  }

  // Calls f(lowering) with the lowering for this input shape (see the top of this file).
  template <class F>
  void with_lowering(const Shape& input, F&& f) {
    const detail::ConvItemGeometry g{window_, input[1], input[2], input[3], window_.out_extent(input[2]),
                                     window_.out_extent(input[3])};
    offsets_.resize({g.col_rows()});
    if (window_.stride == 1) {
      const auto lowering = detail::ShiftedRowsLowering::make<T>(g);
      lowering.make_offsets(offsets_.data());
      f(lowering);
    } else {
      f(detail::Im2colLowering{g});
    }
  }

  template <class Lowering>
  void forward_items(const Lowering& lowering, TensorView<const T> in, Tensor<T>& out) {
    const detail::ConvItemGeometry& g = lowering.g;
    if constexpr (std::is_same_v<Lowering, detail::ShiftedRowsLowering>)
      if (detail::forward_over_outputs<T>(window_.kernel, window_.stride, out_)) return forward_over_outputs(lowering, in, out);
    const std::int64_t O = out_, R = g.col_rows(), L = lowering.length(), pitch = lowering.pitch();
    const std::int64_t P = g.out_height, Q = g.out_width;
    // The product lands in the output directly, or in a wide buffer with gap columns.
    constexpr bool direct = Lowering::output_layout;
    const detail::ThreadSlots slots;
    inputs_.resize({slots.count(), std::max<std::int64_t>(1, lowering.input_buffer_numel())});
    products_.resize({slots.count(), direct ? 1 : O * L});
    parallel_for(in.size(0), [&](std::int64_t n) {
      const auto rows = lowering.input_rows(in.data() + n * g.item_numel(), inputs_.data() + slots.index() * inputs_.size(1),
                                            offsets_.data());
      T* y = out.data() + n * O * P * Q;
      if constexpr (direct) {
        for (std::int64_t o = 0; o < O; ++o) std::fill_n(y + o * L, L, bias.value[o]);
        detail::gemm<T>(O, L, R, {weight.value.data(), R, 1}, rows, y, L, detail::GemmOutput::accumulate);
      } else {
        T* wide = products_.data() + slots.index() * O * L;
        detail::gemm<T>(O, L, R, {weight.value.data(), R, 1}, rows, wide, L, detail::GemmOutput::overwrite);
        for (std::int64_t o = 0; o < O; ++o)
          for (std::int64_t p = 0; p < P; ++p) detail::copy_run_plus(wide + o * L + p * pitch, bias.value[o], y + (o * P + p) * Q, Q);
      }
    });
  }

  // The forward pass with lanes over the output channels (detail/conv_forward_over_outputs.hpp).
  void forward_over_outputs(const detail::ShiftedRowsLowering& lowering, TensorView<const T> in, Tensor<T>& out) {
    const detail::ConvItemGeometry& g = lowering.g;
    constexpr std::int64_t lanes = detail::forward_lanes<T>();
    const std::int64_t R = g.col_rows(), P = g.out_height, Q = g.out_width;
    transposed_weights_.resize({R + 1, lanes});  // W^T, then the bias, zero past O
    detail::transpose(weight.value.data(), out_, R, transposed_weights_.data(), lanes, lanes);
    T* bias_lanes = transposed_weights_.data() + R * lanes;
    std::fill_n(std::copy_n(bias.value.data(), out_, bias_lanes), lanes - out_, T(0));
    const detail::ThreadSlots slots;
    inputs_.resize({slots.count(), lowering.input_buffer_numel()});
    products_.resize({slots.count(), P * Q * lanes});
    // Without padding the kernel reads the image in place (its runs end inside each row).
    parallel_for(in.size(0), [&](std::int64_t n) {
      const T* x = in.data() + n * g.item_numel();
      if (window_.padding > 0) x = lowering.input_rows(x, inputs_.data() + slots.index() * inputs_.size(1), offsets_.data()).data;
      detail::conv_forward_over_outputs(window_.kernel, g.channels, out_, P, Q, x, lowering.padded_height,
                                        lowering.padded_width, transposed_weights_.data(), bias_lanes,
                                        products_.data() + slots.index() * products_.size(1), out.data() + n * out_ * P * Q);
    });
  }

  template <class Lowering>
  void backward_items(const Lowering& lowering, TensorView<const T> in, TensorView<const T> grad_out, Tensor<T>* grad_in,
                      bool params) {
    const detail::ConvItemGeometry& g = lowering.g;
    const std::int64_t N = in.size(0), O = out_, R = g.col_rows(), L = lowering.length(), pitch = lowering.pitch();
    const std::int64_t P = g.out_height, Q = g.out_width;
    constexpr bool direct = Lowering::output_layout;  // g already has the product layout
    // Stride-1 kernels of 2-7 take the weight gradient with lanes over the output channels
    // (detail/conv_weight_grad.hpp) into a transposed partial [R, Op]; the rest use gemm_nt.
    constexpr bool shifted = std::is_same_v<Lowering, detail::ShiftedRowsLowering>;
    const bool over_outputs = shifted && detail::weight_grad_over_outputs(window_.kernel, window_.stride);
    const std::int64_t Op = over_outputs ? detail::weight_grad_lanes<T>(O) : O;
    const std::int64_t partial_size = Op * R + O;  // one chunk's dL/dW then dL/db
    const std::int64_t chunk = params ? gradient_chunk(N, partial_size) : 1;
    const std::int64_t chunks = chunk_count(N, chunk);
    // The weight gradient by gemm_nt reads g in the product layout; the input gradient's
    // product reads g's rows of P*Q (no gap columns), padded to whole vectors.
    const bool wide_grad = !direct && params && !over_outputs;
    const detail::ThreadSlots slots;
    inputs_.resize({slots.count(), std::max<std::int64_t>(1, lowering.input_buffer_numel())});
    products_.resize({slots.count(), wide_grad ? O * L : 1});
    // The gap columns and the tail after each row's last one stay zero for every item: the
    // copies below write only the Q real columns (the forward pass left its numbers here).
    if (wide_grad) products_.zero();
    transposed_grads_.resize({slots.count(), params && over_outputs ? P * Q * Op : 1});
    if (params) partials_.resize({chunks, partial_size});
    // Few output channels: the input gradient as a direct correlation (detail/conv_input_grad_direct.hpp).
    const bool direct_grad = grad_in && detail::input_grad_direct(window_.stride, window_.kernel, window_.padding, O);
    if (direct_grad)
      direct_input_grad_.prepare({window_.kernel, window_.padding, O, g.channels, g.height, g.width}, slots.count());
    // g with each row's P*Q columns followed by zeros up to the lowering's dcol columns.
    const std::int64_t D = lowering.dcol_columns();
    const bool padded_grad = grad_in && !direct_grad && D != P * Q;
    padded_grads_.resize({slots.count(), padded_grad ? O * D : 1});
    if (padded_grad) padded_grads_.zero();
    if (grad_in && !direct_grad) {
      column_grads_.resize({slots.count(), lowering.grad_buffer_numel()});
      for (std::int64_t s = 0; s < slots.count(); ++s) lowering.clear_margins(column_grads_.data() + s * column_grads_.size(1));
    }

    // Chunks go to whichever thread is free: on a shared machine one core can take 1.8x as
    // long over an equal share (docs/performance.md). Each chunk has its own partial and each
    // thread its own slot, so who runs a chunk does not change a bit.
    parallel_for_balanced(chunks, [&](std::int64_t c) {
      const int slot = slots.index();
      T* partial = params ? partials_.data() + c * partial_size : nullptr;
      if (params) std::fill_n(partial, partial_size, T(0));
      for (std::int64_t n = c * chunk; n < std::min(N, (c + 1) * chunk); ++n) {
        const T* gy = grad_out.data() + n * O * P * Q;
        const T* gw = gy;  // g in the product layout [O, L]
        if (wide_grad) {
          // Each row of g at its place in the product layout (the rest is zero, above).
          T* wide = products_.data() + slot * O * L;
          for (std::int64_t o = 0; o < O; ++o)
            for (std::int64_t p = 0; p < P; ++p) detail::copy_run(gy + (o * P + p) * Q, wide + o * L + p * pitch, Q);
          gw = wide;
        }
        if (params) {
          const auto rows = lowering.input_rows(in.data() + n * g.item_numel(),
                                                inputs_.data() + slot * inputs_.size(1), offsets_.data());
          if constexpr (shifted) {
            if (over_outputs)
              detail::add_weight_grad_over_outputs<T>(window_.kernel, g.channels, O, P, Q, rows.data,
                                                      lowering.padded_height, lowering.padded_width, gy,
                                                      transposed_grads_.data() + slot * transposed_grads_.size(1), partial);
          }
          if (!over_outputs)
            detail::gemm_nt<T>(O, R, L, detail::StridedRows<T>{gw, L}, rows, partial, R, detail::GemmOutput::accumulate);
          for (std::int64_t o = 0; o < O; ++o) partial[Op * R + o] += simd::sum(gy + o * P * Q, std::size_t(P * Q));
        }
        if (direct_grad) {
          direct_input_grad_.run(slot, weight.value.data(), gy, grad_in->data() + n * g.item_numel());
        } else if (grad_in) {
          T* grad_buffer = column_grads_.data() + slot * column_grads_.size(1);
          const T* g_rows = gy;
          if (padded_grad) {
            T* padded = padded_grads_.data() + slot * O * D;
            for (std::int64_t o = 0; o < O; ++o) detail::copy_run(gy + o * P * Q, padded + o * D, P * Q);
            g_rows = padded;
          }
          detail::gemm<T>(R, D, O, {weight.value.data(), 1, R}, detail::StridedRows<T>{g_rows, D},
                          grad_buffer + lowering.dcol_offset(), lowering.dcol_stride(), detail::GemmOutput::overwrite);
          lowering.write_input_grad(grad_buffer, offsets_.data(), grad_in->data() + n * g.item_numel());
        }
      }
    });

    if (params) {
      T* total = partials_.data();  // each element sums the chunks in order into the first chunk's
      if (chunks > 1)                 // (one chunk at a few images: no threads to wake)
        parallel_chunks(partial_size, 1024, [&](std::int64_t first, std::int64_t last) {
          for (std::int64_t c = 1; c < chunks; ++c) detail::add_run(total + c * partial_size + first, total + first, last - first);
        });
      if (!over_outputs) detail::add_run(total, weight.grad.data(), O * R);
      else
        for (std::int64_t o = 0; o < O; ++o)
          for (std::int64_t r = 0; r < R; ++r) weight.grad[o * R + r] += total[r * Op + o];
      detail::add_run(total + Op * R, bias.grad.data(), O);
    }
  }

  static std::int64_t gradient_chunk(std::int64_t n, std::int64_t partial_size) {
    const std::int64_t max_chunks = std::clamp<std::int64_t>(partial_budget / partial_size, 1, max_partial_chunks);
    const std::int64_t chunks = std::min(n, max_chunks);
    return (n + chunks - 1) / chunks;
  }

  detail::WindowGeometry window_;
  std::int64_t in_, out_;
  // Per-thread workspaces: the lowered (padded or im2col) input, the wide product or wide
  // gradient (for gemm_nt's weight gradient), and the rows' gradient W^T g (with what the
  // lowering needs to add it back).
  Tensor<T> inputs_, products_, column_grads_;
  Tensor<T> padded_grads_;      // g with its rows padded to the lowering's dcol columns
  Tensor<T> transposed_grads_;  // g transposed to [P*Q, Op] (the weight gradient over outputs)
  Tensor<T> transposed_weights_;  // [C*k*k + 1, lanes]: W^T and b (the forward over outputs)
  Tensor<std::int64_t> offsets_;  // [C*k*k]: where each shifted row starts (stride 1)
  Tensor<T> partials_;      // [chunks, Op*C*k*k + O]: parameter gradients per chunk of items
  Tensor<T> flipped_;       // [C, O*k*k]: the flipped kernel (batch lowering's input gradient)
  detail::WinogradWorkspace<T> winograd_;  // the transformed operands of the Winograd lowering
  detail::DirectInputGrad<T> direct_input_grad_;  // the input gradient of few output channels
};

}  // namespace farbound
