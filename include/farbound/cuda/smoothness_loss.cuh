#pragma once
// The fused smoothness loss on the GPU, on device memory the caller owns.
//
// The math is regularize/detail/smoothness_kernel.hpp's smoothness_anchor, the very
// function the CPU reference runs (see regularize/smoothness_loss.hpp for the loss and its
// gradient): the kernel gives it one thread per anchor. Per call:
//   1. smoothness_terms_kernel: checks the anchor's label and squared distances (the first
//      bad index goes to a status word by atomicMin, so the error names the same value as
//      on the CPU), writes dL/dz for the anchor row and its K neighbour rows, and the
//      anchor's CE_i and GR_i (in double) to the workspace;
//   2. deterministic_sum_rows (cuda/reduce.cuh): the sums over anchors in a fixed order;
//   3. one copy of the status (sums and first bad indices) to pinned memory, one
//      stream synchronisation, and the host finishes exactly as the CPU does
//      (smoothness_loss_value, the same errors).
// Nothing is allocated once the workspace has seen the batch size. Where the CPU rounds
// exp differently from CUDA, results agree to about 1e-6 relative in float.
#if !defined(__CUDACC__)
#error "farbound/cuda/smoothness_loss.cuh is compiled only by nvcc"
#endif

#include <cuda_runtime.h>

#include <cstdint>
#include <span>
#include <type_traits>

#include "farbound/core/tensor.hpp"
#include "farbound/cuda/buffer.cuh"
#include "farbound/cuda/check.cuh"
#include "farbound/cuda/reduce.cuh"
#include "farbound/regularize/smoothness_loss.hpp"

namespace farbound::cuda {

namespace detail {

// What the host reads back after a call, in one copy.
struct SmoothnessStatus {
  double sums[2];                    // sum_i CE_i over labelled anchors, sum_i GR_i
  unsigned long long first_bad_label;  // anchor index, or ~0 when every label is valid
  unsigned long long first_bad_r;      // index into r, or ~0
};

inline constexpr unsigned long long none_bad = ~0ull;

template <class T>
__global__ void smoothness_terms_kernel(const T* z, const T* zn, const T* r, const std::int32_t* labels,
                                        std::int64_t B, std::int64_t K, std::int64_t C, T ce_weight, T gr_weight,
                                        T* dz, T* dzn, double* terms, SmoothnessStatus* status) {
  const std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= B) return;
  const std::int32_t label = labels[i];
  bool valid = true;
  if (!farbound::detail::label_is_valid(label, C)) {
    atomicMin(&status->first_bad_label, static_cast<unsigned long long>(i));
    valid = false;
  }
  for (std::int64_t k = 0; k < K; ++k)
    if (!farbound::detail::squared_distance_is_valid(r[i * K + k])) {
      atomicMin(&status->first_bad_r, static_cast<unsigned long long>(i * K + k));
      valid = false;
    }
  if (!valid) {  // the call throws; the gradients are unspecified, but never out of bounds
    terms[i] = terms[B + i] = 0;
    return;
  }
  const auto t = farbound::detail::smoothness_anchor<farbound::detail::ScalarBlocks>(
      z + i * C, zn + i * K * C, r + i * K, std::size_t(K), std::size_t(C), label, label >= 0 ? ce_weight : T(0),
      gr_weight, dz + i * C, dzn + i * K * C);
  terms[i] = double(t.cross_entropy);
  terms[B + i] = double(t.smoothness);
}

}  // namespace detail

// Device memory that smoothness_loss reuses from call to call. One workspace per stream.
class SmoothnessWorkspace {
 public:
  SmoothnessWorkspace() : status_(1), host_status_(1) {}

  // Room for a batch of `anchors` (allocates only when it grows).
  void reserve(std::int64_t anchors) {
    terms_.reserve(std::size_t(2 * anchors));
    partials_.reserve(std::size_t(2 * sum_segment_count(anchors)));
  }
  double* terms() const { return terms_.data(); }        // [2, B]: CE_i, then GR_i
  double* partials() const { return partials_.data(); }  // [2, segments] of the deterministic sum
  detail::SmoothnessStatus* status() const { return status_.data(); }
  detail::SmoothnessStatus& host_status() const { return *host_status_.data(); }

 private:
  DeviceBuffer<double> terms_, partials_;
  DeviceBuffer<detail::SmoothnessStatus> status_;
  PinnedBuffer<detail::SmoothnessStatus> host_status_;
};

// farbound::smoothness_loss on the GPU: the same arguments, shapes, checks and errors, with
// every tensor and the labels in device memory (views: slices of one [B + B*K, C] logits
// tensor work as on the CPU). Kernels go to `stream`; the call returns once the loss is
// known (one synchronisation of `stream`), with the gradients written. Throws cuda_error
// when CUDA fails.
template <class T>
SmoothnessLossValue<T> smoothness_loss(std::type_identity_t<TensorView<const T>> anchor_logits,
                                       std::type_identity_t<TensorView<const T>> neighbour_logits,
                                       std::type_identity_t<TensorView<const T>> r, std::span<const std::int32_t> labels,
                                       std::type_identity_t<T> lambda, TensorView<T> anchor_grad,
                                       TensorView<T> neighbour_grad, SmoothnessWorkspace& workspace,
                                       cudaStream_t stream = nullptr) {
  farbound::detail::check_smoothness_shapes(anchor_logits, neighbour_logits, r, labels, lambda, anchor_grad,
                                            neighbour_grad);
  const std::int64_t B = anchor_logits.size(0), C = anchor_logits.size(1), K = neighbour_logits.size(0) / B;
  const auto weights = farbound::detail::smoothness_weights(B, K, C, lambda);
  workspace.reserve(B);
  detail::SmoothnessStatus* status = workspace.status();
  FARBOUND_CUDA_CHECK(cudaMemsetAsync(status, 0xFF, sizeof(detail::SmoothnessStatus), stream));

  constexpr int threads = 128;
  detail::smoothness_terms_kernel<T><<<unsigned((B + threads - 1) / threads), threads, 0, stream>>>(
      anchor_logits.data(), neighbour_logits.data(), r.data(), labels.data(), B, K, C, weights.ce_weight,
      weights.gr_weight, anchor_grad.data(), neighbour_grad.data(), workspace.terms(), status);
  FARBOUND_CUDA_CHECK(cudaGetLastError());
  deterministic_sum_rows(workspace.terms(), B, 2, workspace.partials(), status->sums, stream);

  detail::SmoothnessStatus& host = workspace.host_status();
  FARBOUND_CUDA_CHECK(cudaMemcpyAsync(&host, status, sizeof(host), cudaMemcpyDeviceToHost, stream));
  FARBOUND_CUDA_CHECK(cudaStreamSynchronize(stream));
  if (host.first_bad_label != detail::none_bad) {
    std::int32_t label = 0;
    FARBOUND_CUDA_CHECK(cudaMemcpy(&label, labels.data() + host.first_bad_label, sizeof(label), cudaMemcpyDeviceToHost));
    farbound::detail::throw_bad_label(label, std::int64_t(host.first_bad_label), C);
  }
  if (host.first_bad_r != detail::none_bad) {
    T value = 0;
    FARBOUND_CUDA_CHECK(cudaMemcpy(&value, r.data() + host.first_bad_r, sizeof(value), cudaMemcpyDeviceToHost));
    farbound::detail::throw_bad_squared_distance(value, std::int64_t(host.first_bad_r));
  }
  return farbound::detail::smoothness_loss_value(host.sums[0], host.sums[1], B, lambda);
}

}  // namespace farbound::cuda
