#pragma once
// The perturbed-neighbour smoothness loss of the data-sparsity framework,
// forward and backward in one call.
//
// Anchors i = 1..B with logits z_i, each with K neighbours whose logits are z_ik and whose
// inputs lie at squared distance r_ik = ||x_ik - x_i||^2; p = softmax(z), C classes:
//   GR_i = 1/(K*C) * sum_k sum_c (p_ic - p_ikc)^2 / r_ik
//   L    = (1/B) * sum_i [ m_i * CE(z_i, y_i) + lambda * GR_i ],   m_i = [y_i >= 0]
// With B = 1 this is the reference's CE + lambda * GRLoss. (The cross-entropy is averaged
// over all B anchors, unlabelled ones counting 0, unlike nn/loss.hpp's cross_entropy, which
// averages over the labelled rows as PyTorch does.) The noise is a constant: no
// gradient flows through r. Both the anchors and the neighbours receive dL/dz, so one
// backward pass through the network trains on both.
//
// Layout: the neighbours of anchor i are rows i*K .. i*K + K - 1 of the neighbour logits.
// All inputs are views, so the anchors and neighbours may be two slices of one
// [B + B*K, C] logits tensor from a single forward pass, and the gradients two slices of
// its [B + B*K, C] gradient:
//   smoothness_loss(logits.slice(0, B), logits.slice(B, B * K), r, labels, lambda,
//                   grad.slice(0, B), grad.slice(B, B * K));
//
// The per-anchor kernel (detail/smoothness_kernel.hpp) is written once over lanes; the
// public function runs it on xsimd batches, and detail::smoothness_loss_with<ScalarBlocks>
// runs it one element at a time with libm as the reference the tests compare against. With
// 64 classes or fewer the public function runs blocks of anchors side by side on the lanes
// instead (detail/smoothness_lanes.hpp), and the last B mod W anchors row by row; from 65 to
// 128 classes in float on AVX-512, each row in registers (detail/smoothness_rows_avx512.hpp).
// Work is split over anchors in chunks fixed by the shapes, whose partial sums are added in
// chunk order, so the result is the same on any thread count. Nothing is allocated.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "farbound/core/error.hpp"
#include "farbound/core/host_device.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/detail/cache_sizes.hpp"
#include "farbound/detail/stream_lines.hpp"
#include "farbound/regularize/detail/smoothness_kernel.hpp"
#include "farbound/regularize/detail/smoothness_lanes.hpp"
#include "farbound/regularize/detail/smoothness_rows_avx512.hpp"

namespace farbound {

// The parts of the smoothness loss of one batch.
template <class T>
struct SmoothnessLossValue {
  T cross_entropy;  // (1/B) * sum_i m_i * CE_i
  T smoothness;     // (1/B) * sum_i GR_i, not multiplied by lambda (so it can be logged at lambda = 0)
  T total;          // cross_entropy + lambda * smoothness: the loss whose gradient is written
};

namespace detail {

inline bool ranges_overlap(const void* a, std::size_t a_bytes, const void* b, std::size_t b_bytes) {
  const auto a0 = reinterpret_cast<std::uintptr_t>(a), b0 = reinterpret_cast<std::uintptr_t>(b);
  return a_bytes > 0 && b_bytes > 0 && a0 < b0 + b_bytes && b0 < a0 + a_bytes;
}

// What smoothness_loss and cuda::smoothness_loss both check without reading the data (the
// CUDA version's views point at device memory): shapes, lambda, overlapping outputs.
template <class T>
void check_smoothness_shapes(TensorView<const T> anchor_logits, TensorView<const T> neighbour_logits,
                             TensorView<const T> r, std::span<const std::int32_t> labels, T lambda,
                             TensorView<T> anchor_grad, TensorView<T> neighbour_grad) {
  const std::string where = "smoothness_loss: ";
  const std::string anchors = "anchor logits " + anchor_logits.shape().to_string();
  const std::string neighbours = "neighbour logits " + neighbour_logits.shape().to_string();
  if (anchor_logits.rank() != 2 || anchor_logits.size(0) < 1 || anchor_logits.size(1) < 1)
    throw shape_error(where + anchors + " must be [B, C] with B >= 1 and C >= 1");
  const std::int64_t B = anchor_logits.size(0), C = anchor_logits.size(1);
  if (neighbour_logits.rank() != 2 || neighbour_logits.size(1) != C || neighbour_logits.size(0) % B != 0)
    throw shape_error(where + neighbours + " must be [B*K, C] for " + anchors);
  if (r.rank() != 1 || r.size(0) != neighbour_logits.size(0))
    throw shape_error(where + "squared distances r " + r.shape().to_string() + " must hold one value per row of " +
                      neighbours);
  if (std::int64_t(labels.size()) != B)
    throw shape_error(where + "labels [" + std::to_string(labels.size()) + "] must hold one label per row of " + anchors);
  if (!(anchor_grad.shape() == anchor_logits.shape()))
    throw shape_error(where + "anchor gradient " + anchor_grad.shape().to_string() + " must have the shape of " + anchors);
  if (!(neighbour_grad.shape() == neighbour_logits.shape()))
    throw shape_error(where + "neighbour gradient " + neighbour_grad.shape().to_string() + " must have the shape of " +
                      neighbours);
  if (!std::isfinite(lambda) || lambda < 0)
    throw argument_error(where + "lambda must be finite and >= 0, got " + std::to_string(lambda));
  // The kernel parks softmax values in the gradient rows, so they must not share memory
  // with any input or with each other.
  const auto bytes = [](auto v) { return std::size_t(v.numel()) * sizeof(T); };
  for (auto out : {anchor_grad, neighbour_grad})
    for (TensorView<const T> in : {anchor_logits, neighbour_logits, r})
      if (ranges_overlap(out.data(), bytes(out), in.data(), bytes(in)))
        throw argument_error(where + "a gradient output overlaps an input");
  if (ranges_overlap(anchor_grad.data(), bytes(anchor_grad), neighbour_grad.data(), bytes(neighbour_grad)))
    throw argument_error(where + "the anchor and neighbour gradients overlap");
}

// Per-value checks, shared with the CUDA kernel (which finds the first bad value on the
// device and throws the same error on the host) and run on whole xsimd vectors by
// check_smoothness_arguments: V is one value or, on the host, a vector of them (E its
// element type). Each is one expression without a branch (& rather than &&).
FARBOUND_EXEC_CHECK_DISABLE
template <class V>
FARBOUND_HOST_DEVICE auto label_is_valid(V label, std::int64_t classes) {
  // label < classes, as label <= the last class, clamped to what an int32 label can hold.
  const std::int64_t most = std::numeric_limits<std::int32_t>::max();
  const std::int64_t last = classes - 1 < most ? classes - 1 : most;
  return (label >= V(-1)) & (label <= V(std::int32_t(last)));
}
FARBOUND_EXEC_CHECK_DISABLE
template <class V, class E = V>
FARBOUND_HOST_DEVICE auto squared_distance_is_valid(V r) {
  return (r > V(E(0))) & (r <= V(std::numeric_limits<E>::max()));  // false for NaN and +Inf too
}
[[noreturn]] inline void throw_bad_label(std::int32_t label, std::int64_t anchor, std::int64_t classes) {
  throw argument_error("smoothness_loss: label " + std::to_string(label) + " of anchor " + std::to_string(anchor) +
                       " is outside [-1, " + std::to_string(classes) + ")");
}
template <class T>
[[noreturn]] void throw_bad_squared_distance(T r, std::int64_t j) {
  if (!std::isfinite(r))
    throw numeric_error("smoothness_loss: squared distance r[" + std::to_string(j) + "] is not finite (" +
                        std::to_string(r) + ")");
  throw argument_error("smoothness_loss: squared distance r[" + std::to_string(j) + "] = " + std::to_string(r) +
                       " must be > 0 (a neighbour equal to its anchor)");
}

template <class T>
void check_smoothness_arguments(TensorView<const T> anchor_logits, TensorView<const T> neighbour_logits,
                                TensorView<const T> r, std::span<const std::int32_t> labels, T lambda,
                                TensorView<T> anchor_grad, TensorView<T> neighbour_grad) {
  check_smoothness_shapes(anchor_logits, neighbour_logits, r, labels, lambda, anchor_grad, neighbour_grad);
  // Branch-free passes on vectors; only a failing one is walked again to name the first bad
  // value. (An early-exit loop over r cost 5 % of the call at C = 10; with && in the
  // predicates, GCC 12 compiled the pass over r to compares and a jump per value: 150 us at
  // B*K = 262 144 on one Zen 4 core, a tenth of the whole loss on two threads, against 18 us
  // on vectors with r in the cache. Written on xsimd's vectors: GCC vectorised the plain
  // loops at -O3 only, and at -O2 they were a fifth of the loss at C = 10.)
  const std::int64_t C = anchor_logits.size(1);
  // Whether `valid` fails for any of the values: whole vectors, then the tail one by one.
  const auto any_invalid = []<class U>(std::span<const U> values, auto valid) {
    using V = xsimd::batch<U>;
    typename V::batch_bool_type found(false);
    std::size_t i = 0;
    for (; i + V::size <= values.size(); i += V::size) found = found | !valid(V::load_unaligned(values.data() + i));
    bool tail = false;
    for (; i < values.size(); ++i) tail |= !valid(values[i]);
    return xsimd::any(found) || tail;
  };
  const bool labels_bad = any_invalid(labels, [C](auto y) { return label_is_valid(y, C); });
  const bool r_bad =
      any_invalid(std::span<const T>(r.span()), [](auto x) { return squared_distance_is_valid<decltype(x), T>(x); });
  if (labels_bad)
    for (std::size_t i = 0; i < labels.size(); ++i)
      if (!label_is_valid(labels[i], C)) throw_bad_label(labels[i], std::int64_t(i), C);
  if (r_bad)
    for (std::int64_t j = 0; j < r.numel(); ++j)
      if (!squared_distance_is_valid(r[j])) throw_bad_squared_distance(r[j], j);
}

// The batch loss from the sums over anchors of CE_i (labelled only) and GR_i, in double.
template <class T>
SmoothnessLossValue<T> smoothness_loss_value(double ce_sum, double gr_sum, std::int64_t B, T lambda) {
  const double ce = ce_sum / double(B), gr = gr_sum / double(B);
  const double total = ce + double(lambda) * gr;
  if (!std::isfinite(total) || !std::isfinite(T(total)))
    throw numeric_error("smoothness_loss: the loss is not finite (cross-entropy " + std::to_string(ce) + ", smoothness " +
                        std::to_string(gr) + ", lambda " + std::to_string(lambda) +
                        "): a logit is NaN or Inf, or lambda / r overflows " + (sizeof(T) == 4 ? "float" : "double"));
  return {T(ce), T(gr), T(total)};
}

// The weights of the per-anchor terms in the batch loss (smoothness_anchor's ce_weight for
// a labelled anchor, and gr_weight = 2 lambda / (B K C)).
template <class T>
struct SmoothnessWeights {
  T ce_weight, gr_weight;
};
template <class T>
SmoothnessWeights<T> smoothness_weights(std::int64_t B, std::int64_t K, std::int64_t C, T lambda) {
  return {T(1) / T(B), K > 0 ? T(2) * lambda / (T(B) * T(K) * T(C)) : T(0)};
}

// Neighbour gradients of at least this many bytes are written by streaming stores (the
// anchors-on-lanes kernels only): past the caches, so that a block's rows need not be read
// before they are written. Smaller ones stay in the caches for the backward pass that reads
// them next. Where the line lies follows the last-level cache (docs/performance.md,
// "Streaming stores for large batches" and "The smoothness loss's streaming stores on the
// Xeon"): on a Zen 4 (32 MB of L3), timed with a pass that reads the rows after the loss,
// streaming lost at 5 MB and won at 10; on an Intel Xeon (480 MB of L3 reported), the loss
// alone, the rows written in place were 4-15 % faster at C = 10 with 10 and 21 MB of rows, at
// 42 MB 6-14 % faster on one thread and even on two, 5-12 % slower at 168 MB, and at C = 50
// with 52 MB 5-8 % slower. Hence a sixteenth of the L3, and no less than 8 MB (also where the
// C library does not say).
inline std::size_t streamed_gradient_bytes() {
  static const std::size_t bytes = std::max(std::size_t(8) << 20, std::size_t(reported_cache_bytes(3) / 16));
  return bytes;
}

// Each chunk's room on its thread's stack: for the row kernel, the neighbours' exp(z - max),
// kept for as many of each anchor's neighbours as fit, and the anchor's after them if they
// fit too; for the lanes kernels of large batches, two blocks' neighbour gradient rows
// before they are streamed out. 64 KB, cache-resident, holds all K = 8 and the anchor at
// C = 1000 in float (with 32 KB the anchor's softmax was evaluated three times: 9-10 %
// slower on one thread), and two blocks of K = 8 rows up to the lanes kernels' 64 classes.
inline constexpr std::size_t q_store_bytes = 64 * 1024;

// The whole batch with the lane walker Blocks (ScalarBlocks: the reference; SimdBlocks).
// Neighbour gradients of streamed_from bytes or more are streamed out (the tests lower it).
template <class Blocks, class T>
SmoothnessLossValue<T> smoothness_loss_with(TensorView<const T> anchor_logits, TensorView<const T> neighbour_logits,
                                            TensorView<const T> r, std::span<const std::int32_t> labels, T lambda,
                                            TensorView<T> anchor_grad, TensorView<T> neighbour_grad,
                                            std::size_t streamed_from = streamed_gradient_bytes()) {
  check_smoothness_arguments(anchor_logits, neighbour_logits, r, labels, lambda, anchor_grad, neighbour_grad);
  const std::int64_t B = anchor_logits.size(0), C = anchor_logits.size(1), K = neighbour_logits.size(0) / B;
  const auto [ce_weight, gr_weight] = smoothness_weights(B, K, C, lambda);

  // Chunks of whole anchors, fixed by the shapes alone: at most max_chunks of them, each
  // with at least min_chunk_logits logits so that small batches (a few microseconds of
  // work) do not pay for waking threads. Each chunk sums its anchors in order (in double,
  // for the logged values), then the chunks are summed in order. The chunks are handed out
  // one at a time: on a shared machine one vCPU often runs at half speed for a while, and
  // with a fixed half each the other waited for it (B*K = 262 144, C = 10, two threads:
  // median 2 577 -> 1 746 us over ten alternating runs, the least of each alike).
  // With anchors on the lanes (below), chunks are whole lane groups, so that only the
  // batch's last B mod W anchors take the slower row-by-row kernel.
  constexpr std::int64_t max_chunks = 64, min_chunk_logits = std::int64_t(1) << 14;
  constexpr std::int64_t W = xsimd::batch<T>::size;
  const bool on_lanes = std::is_same_v<Blocks, SimdBlocks> && C <= std::int64_t(lane_anchor_max_classes);
  // From 65 to 128 classes on AVX-512 floats, each row in registers (detail/smoothness_rows_avx512.hpp).
  constexpr bool in_registers_here = std::is_same_v<Blocks, SimdBlocks> && has_register_rows<T>;
  const bool in_registers = in_registers_here && C >= std::int64_t(register_rows_min_classes) &&
                            C <= std::int64_t(register_rows_max_classes);
  const std::int64_t least =
      std::max((B + max_chunks - 1) / max_chunks, (min_chunk_logits + (K + 1) * C - 1) / ((K + 1) * C));
  const std::int64_t chunk = on_lanes ? (least + W - 1) / W * W : least;
  std::array<double, max_chunks> ce_part{}, gr_part{};
  // Neighbour gradients too large for the caches: each block of W anchors' rows (W K C
  // elements) written into one half of the q_store, then streamed out by the kernel of the
  // next block, written into the other half (smoothness_lanes.hpp, smoothness_lanes_wide.hpp
  // say when), so that the stores no longer read every line for ownership first
  // (detail/stream_lines.hpp). Where the blocks are whole cache lines and the first starts on
  // one, so do all.
  const std::size_t block_elements = std::size_t(W * K * C), block_bytes = block_elements * sizeof(T);
  const bool staged = on_lanes && 2 * block_bytes <= q_store_bytes && block_bytes % cache_line_bytes == 0 &&
                      std::size_t(B * K * C) * sizeof(T) >= streamed_from &&
                      reinterpret_cast<std::uintptr_t>(neighbour_grad.data()) % cache_line_bytes == 0;
  parallel_chunks_balanced(B, chunk, [&](std::int64_t begin, std::int64_t end) {
    alignas(64) T q_store[q_store_bytes / sizeof(T)];
    double ce = 0, gr = 0;
    std::int64_t i = begin;
    T* const staging[2] = {q_store, staged ? q_store + block_elements : nullptr};
    // Up to 64 classes: whole blocks of W anchors on the lanes (detail/smoothness_lanes.hpp).
    if (on_lanes)
      for (; i + W <= end; i += W) {
        const std::size_t block = std::size_t((i - begin) / W);  // in this chunk
        AnchorTerms<T> terms[W];
        T* const rows = neighbour_grad.data() + i * K * C;
        const bool next = i + 2 * W <= end;  // in this chunk: the other threads' rows are not touched
        const bool previous = staged && block > 0;
        const BlockTraffic<T> traffic{next ? neighbour_logits.data() + (i + W) * K * C : nullptr,
                                      next && !staged ? rows + block_elements : nullptr,
                                      previous ? staging[(block + 1) % 2] : nullptr,
                                      previous ? rows - block_elements : nullptr};
        smoothness_anchor_lanes(anchor_logits.data() + i * C, neighbour_logits.data() + i * K * C, r.data() + i * K,
                                std::size_t(K), std::size_t(C), labels.data() + i, ce_weight, gr_weight,
                                anchor_grad.data() + i * C, staged ? staging[block % 2] : rows, terms, traffic);
        for (const AnchorTerms<T>& t : terms) {
          ce += t.cross_entropy;
          gr += t.smoothness;
        }
      }
    const std::size_t blocks = std::size_t((i - begin) / W);  // on the lanes, in this chunk
    if (staged && blocks > 0)  // the chunk's last block
      stream_lines(staging[(blocks + 1) % 2], neighbour_grad.data() + (i - W) * K * C, block_bytes);
    // 65 to 128 classes on AVX-512 floats: each anchor's rows in registers (written in
    // place: staged and streamed out as above, one anchor's rows at a time, they were 1-3 %
    // slower at C = 100 from memory; docs/performance.md).
    if constexpr (in_registers_here)
      if (in_registers)
        for (; i < end; ++i) {
          const std::int64_t next = i + 1 < end ? i + 1 : i;
          const std::int32_t label = labels[std::size_t(i)];
          const auto terms = smoothness_anchor_in_registers(
              anchor_logits.data() + i * C, neighbour_logits.data() + i * K * C, r.data() + i * K, std::size_t(K),
              std::size_t(C), label, label >= 0 ? ce_weight : T(0), gr_weight, anchor_grad.data() + i * C,
              neighbour_grad.data() + i * K * C, neighbour_logits.data() + next * K * C,
              neighbour_grad.data() + next * K * C);
          ce += terms.cross_entropy;
          gr += terms.smoothness;
        }
    for (; i < end; ++i) {
      const std::int64_t next = i + 1 < end ? i + 1 : i;
      const AnchorAids<T> aids{q_store, std::size(q_store), anchor_logits.data() + next * C,
                               neighbour_logits.data() + next * K * C, anchor_grad.data() + next * C,
                               neighbour_grad.data() + next * K * C};
      const auto terms = smoothness_anchor<Blocks>(
          anchor_logits.data() + i * C, neighbour_logits.data() + i * K * C, r.data() + i * K, std::size_t(K),
          std::size_t(C), labels[std::size_t(i)], labels[std::size_t(i)] >= 0 ? ce_weight : T(0), gr_weight,
          anchor_grad.data() + i * C, neighbour_grad.data() + i * K * C, aids);
      ce += terms.cross_entropy;
      gr += terms.smoothness;
    }
    if (staged) stream_fence();
    ce_part[std::size_t(begin / chunk)] = ce;
    gr_part[std::size_t(begin / chunk)] = gr;
  });
  double ce = 0, gr = 0;
  for (std::int64_t c = 0; c < chunk_count(B, chunk); ++c) {
    ce += ce_part[std::size_t(c)];
    gr += gr_part[std::size_t(c)];
  }
  return smoothness_loss_value(ce, gr, B, lambda);
}

}  // namespace detail

// Computes the loss and writes dL/dz into anchor_grad [B, C] and neighbour_grad [B*K, C]
// (views of the caller's memory, e.g. slices of one gradient tensor). Throws shape_error
// for inconsistent shapes, argument_error for a label outside [-1, C), r <= 0, lambda < 0
// or outputs that overlap inputs, numeric_error for a non-finite r or loss (after which the
// gradients are unspecified).
template <class T>
SmoothnessLossValue<T> smoothness_loss(std::type_identity_t<TensorView<const T>> anchor_logits,
                                       std::type_identity_t<TensorView<const T>> neighbour_logits,
                                       std::type_identity_t<TensorView<const T>> r, std::span<const std::int32_t> labels,
                                       std::type_identity_t<T> lambda, TensorView<T> anchor_grad,
                                       TensorView<T> neighbour_grad) {
  return detail::smoothness_loss_with<detail::SimdBlocks, T>(anchor_logits, neighbour_logits, r, labels, lambda,
                                                             anchor_grad, neighbour_grad);
}

// The same, resizing the caller's gradient tensors to the logits' shapes (no allocation
// once they are large enough).
template <class T>
SmoothnessLossValue<T> smoothness_loss(std::type_identity_t<TensorView<const T>> anchor_logits,
                                       std::type_identity_t<TensorView<const T>> neighbour_logits,
                                       std::type_identity_t<TensorView<const T>> r, std::span<const std::int32_t> labels,
                                       std::type_identity_t<T> lambda, Tensor<T>& anchor_grad, Tensor<T>& neighbour_grad) {
  anchor_grad.resize(anchor_logits.shape());
  neighbour_grad.resize(neighbour_logits.shape());
  return smoothness_loss<T>(anchor_logits, neighbour_logits, r, labels, lambda, anchor_grad.view(), neighbour_grad.view());
}

}  // namespace farbound
