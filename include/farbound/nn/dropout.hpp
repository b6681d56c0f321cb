#pragma once
// Dropout (inverted): in training, every element is kept with probability 1 - p and scaled
// by 1/(1 - p), else zeroed, so the expected output equals the input and evaluation is the
// identity. Backward multiplies by the same mask.
//
// The mask is a pure function of (seed, step, layer index, element): element i of a forward
// is kept when the i-th uniform number of RandomStream(seed, Purpose::dropout, step, layer,
// i / 2^26) is >= p (a stream holds 2^26 numbers; the page i / 2^26 lifts that limit). The
// step advances after every training forward, so a run repeats exactly, on any thread count.
// reset_parameters(seed, layer_index) sets the seed and layer (Sequential does it for every
// layer) and restarts the step at 0; set_step resumes a run from a checkpoint.
#include <algorithm>
#include <cstdint>
#include <string>

#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/random.hpp"
#include "farbound/core/format_number.hpp"
#include "farbound/nn/layer.hpp"

namespace farbound {

// Dropout: zeroes each input with probability p while training, scales the rest by 1 / (1 - p).
template <class T>
class Dropout final : public Layer<T> {
 public:
  // Drops with probability p in [0, 1); the masks come from (seed, step, layer_index).
  explicit Dropout(double p = 0.5, std::uint64_t seed = 0, std::uint32_t layer_index = 0)
      : p_(p), seed_(seed), layer_(layer_index) {
    if (!(p >= 0 && p < 1)) throw argument_error("Dropout: p must be in [0, 1), got " + detail::format_number(p));
  }

  // The drop probability.
  double p() const { return p_; }
  // Training forwards so far: the step that keys the next masks.
  std::uint32_t step() const { return step_; }
  // Sets that step (e.g. to continue a run).
  void set_step(std::uint32_t step) { step_ = step; }

  std::string describe() const override { return "Dropout(p " + detail::format_number(p_) + ")"; }
  bool keys_random_numbers_by_place() const override { return p_ > 0; }
  Shape output_shape(const Shape& input) const override { return input; }

  void forward(TensorView<const T> in, Tensor<T>& out) override {
    out.resize(in.shape());
    masked_ = this->training();
    if (!masked_) {
      std::copy_n(in.data(), in.numel(), out.data());
      return;
    }
    draw_mask(in.numel());
    const T* m = mask_.data();
    parallel_chunks(in.numel(), mask_chunk, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) out[i] = in[i] * m[i];
    });
    ++step_;
  }

  // Uses the mask of the last forward (or none if that forward ran in evaluation mode).
  void backward(TensorView<const T> in, TensorView<const T> /*out*/, TensorView<const T> grad_out, Tensor<T>* grad_in,
                ParamGrads /*param_grads*/) override {
    if (!grad_in) return;
    require_same_shape(in.shape(), grad_out.shape(), "Dropout::backward (input vs grad_out)");
    grad_in->resize(in.shape());
    if (!masked_) {
      std::copy_n(grad_out.data(), grad_out.numel(), grad_in->data());
      return;
    }
    if (mask_.numel() != grad_out.numel())
      throw shape_error("Dropout::backward: grad_out " + grad_out.shape().to_string() + " does not match the mask of " +
                        std::to_string(mask_.numel()) + " elements drawn by the last forward");
    const T* m = mask_.data();
    T* g = grad_in->data();
    parallel_chunks(grad_out.numel(), mask_chunk, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) g[i] = grad_out[i] * m[i];
    });
  }

  void reset_parameters(std::uint64_t seed, std::uint32_t layer_index) override {
    seed_ = seed;
    layer_ = layer_index;
    step_ = 0;
  }

 private:
  static constexpr std::int64_t page = std::int64_t(1) << 26;  // numbers per stream
  static constexpr std::int64_t mask_chunk = 16384;             // a multiple of 4: whole Philox blocks

  // mask_[i] = 1/(1-p) if element i is kept in this step, else 0.
  void draw_mask(std::int64_t n) {
    mask_.resize(Shape{n});
    const T keep_scale = T(1.0 / (1.0 - p_));
    parallel_chunks(n, mask_chunk, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; i += 4) {
        const RandomStream stream(seed_, Purpose::dropout, step_, layer_, std::uint32_t(i / page));
        const PhiloxCounter words = stream.block(std::uint64_t(i % page) / 4);
        for (std::int64_t j = 0; j < 4 && i + j < end; ++j)
          mask_[i + j] = RandomStream::to_unit(words[std::size_t(j)]) >= p_ ? keep_scale : T(0);
      }
    });
  }

  double p_;
  std::uint64_t seed_;
  std::uint32_t layer_;
  std::uint32_t step_ = 0;
  bool masked_ = false;  // whether the last forward applied mask_
  Tensor<T> mask_;
};

}  // namespace farbound
