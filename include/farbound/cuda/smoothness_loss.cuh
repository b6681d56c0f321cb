#pragma once
// The fused smoothness loss on the GPU: the same math as regularize/smoothness_loss.hpp
// (see regularize/detail/smoothness_kernel.hpp for the derivation), one thread per anchor.
//
// Each thread computes its anchor's CE_i and GR_i and writes dL/dz for the anchor row and
// its K neighbour rows; the per-anchor terms go to an array that the host sums in anchor
// order, so the loss does not depend on the launch configuration. Rows of C logits are
// short (10 classes here), so one thread per anchor keeps the kernel simple; the work that
// matters on a GPU is the network, not this loss.
#if !defined(__CUDACC__)
#error "farbound/cuda/smoothness_loss.cuh is compiled only by nvcc"
#endif

#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/core/tensor.hpp"

namespace farbound::cuda {

// Throws farbound::error with the CUDA error string unless `status` is cudaSuccess.
inline void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw error(std::string(what) + ": " + cudaGetErrorString(status));
}

// Number of CUDA devices, 0 when there is no device or no driver (cudaGetDeviceCount then
// returns an error instead of 0).
inline int device_count() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
}

// Device memory for n elements of T, freed on scope exit (also when a later call throws).
template <class T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(std::size_t n) : n_(n) { check(cudaMalloc(&data_, n * sizeof(T) + 1), "cudaMalloc"); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { cudaFree(data_); }
  T* get() const { return data_; }
  void upload(const T* host) { check(cudaMemcpy(data_, host, n_ * sizeof(T), cudaMemcpyHostToDevice), "cudaMemcpy to device"); }
  void download(T* host) const { check(cudaMemcpy(host, data_, n_ * sizeof(T), cudaMemcpyDeviceToHost), "cudaMemcpy to host"); }

 private:
  T* data_ = nullptr;
  std::size_t n_;
};

namespace detail {

// Softmax of one row: p_c = exp(z_c - shift) * inv_sum.
template <class T>
struct DeviceSoftmax {
  T shift, inv_sum, log_sum_exp;
};

template <class T>
__device__ DeviceSoftmax<T> device_softmax(const T* z, int C) {
  T m = z[0];
  for (int c = 1; c < C; ++c) m = z[c] > m ? z[c] : m;
  T s = 0;
  for (int c = 0; c < C; ++c) s += exp(z[c] - m);
  return {m, T(1) / s, m + log(s)};
}

// row[c*] = -sum of the other entries, c* the first largest logit (the row sums to zero;
// this keeps saturated softmax gradients accurate, as on the CPU).
template <class T>
__device__ void complete_zero_sum(const T* logits, T* row, int C) {
  int top = 0;
  for (int c = 1; c < C; ++c)
    if (logits[c] > logits[top]) top = c;
  T others = 0;
  for (int c = 0; c < C; ++c)
    if (c != top) others += row[c];
  row[top] = -others;
}

template <class T>
__global__ void smoothness_loss_kernel(const T* z, const T* zn, const T* r, const std::int32_t* labels, int B, int K,
                                       int C, T ce_weight, T gr_weight, T* dz, T* dzn, T* terms) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= B) return;
  const T* zi = z + std::int64_t(i) * C;
  T* dzi = dz + std::int64_t(i) * C;
  const DeviceSoftmax<T> p = device_softmax(zi, C);
  const std::int32_t y = labels[i];
  const T cw = y >= 0 ? ce_weight : T(0);
  const auto pc = [&](int c) { return exp(zi[c] - p.shift) * p.inv_sum; };

  // delta_k = p - q_k, parked in the neighbour's gradient row.
  for (int k = 0; k < K; ++k) {
    const T* zk = zn + (std::int64_t(i) * K + k) * C;
    T* delta = dzn + (std::int64_t(i) * K + k) * C;
    const DeviceSoftmax<T> q = device_softmax(zk, C);
    for (int c = 0; c < C; ++c) delta[c] = pc(c) - exp(zk[c] - q.shift) * q.inv_sum;
    complete_zero_sum(zi, delta, C);
  }
  // GR_i's double sum, t = sum_c p_c v_c with v_c = sum_k delta_kc / r_k; dL/dz_i.
  T squares = 0, t = 0;
  for (int c = 0; c < C; ++c) {
    T v = 0;
    for (int k = 0; k < K; ++k) {
      const T d = dzn[(std::int64_t(i) * K + k) * C + c];
      const T w = T(1) / r[std::int64_t(i) * K + k];
      v += w * d;
      squares += w * d * d;
    }
    dzi[c] = v;  // v_c for now
    t += pc(c) * v;
  }
  for (int c = 0; c < C; ++c) dzi[c] = gr_weight * pc(c) * (dzi[c] - t) + cw * pc(c);
  if (y >= 0) dzi[y] -= cw;
  complete_zero_sum(zi, dzi, C);
  // dL/dz_ik = -a w_k q_kc (delta_kc - s_k), s_k = sum_c q_kc delta_kc.
  for (int k = 0; k < K; ++k) {
    const T* zk = zn + (std::int64_t(i) * K + k) * C;
    T* delta = dzn + (std::int64_t(i) * K + k) * C;
    const DeviceSoftmax<T> q = device_softmax(zk, C);
    T s = 0;
    for (int c = 0; c < C; ++c) s += exp(zk[c] - q.shift) * q.inv_sum * delta[c];
    const T scale = -gr_weight / r[std::int64_t(i) * K + k];
    for (int c = 0; c < C; ++c) delta[c] = scale * exp(zk[c] - q.shift) * q.inv_sum * (delta[c] - s);
    complete_zero_sum(zk, delta, C);
  }
  terms[2 * i] = y >= 0 ? p.log_sum_exp - zi[y] : T(0);
  terms[2 * i + 1] = K > 0 ? squares / T(K * C) : T(0);
}

}  // namespace detail

template <class T>
struct DeviceSmoothnessLoss {
  T cross_entropy, smoothness, total;  // as SmoothnessLossValue
};

// The smoothness loss for host tensors, computed on the GPU: copies in, one launch, copies
// out. anchor_grad and neighbour_grad are resized. Shapes as smoothness_loss.
template <class T>
DeviceSmoothnessLoss<T> smoothness_loss_device(TensorView<const T> z, TensorView<const T> zn, TensorView<const T> r,
                                               const std::vector<std::int32_t>& labels, T lambda, Tensor<T>& anchor_grad,
                                               Tensor<T>& neighbour_grad) {
  if (z.rank() != 2 || zn.rank() != 2 || z.size(0) == 0 || zn.size(1) != z.size(1) || zn.size(0) % z.size(0) != 0 ||
      r.numel() != zn.size(0) || std::int64_t(labels.size()) != z.size(0))
    throw shape_error("smoothness_loss_device: anchor logits " + z.shape().to_string() + ", neighbour logits " +
                      zn.shape().to_string() + ", r " + r.shape().to_string() + " and " + std::to_string(labels.size()) +
                      " labels do not fit");
  const int B = int(z.size(0)), C = int(z.size(1)), K = int(zn.size(0) / z.size(0));
  anchor_grad.resize(z.shape());
  neighbour_grad.resize(zn.shape());
  const auto n = [](std::int64_t v) { return std::size_t(v); };
  DeviceBuffer<T> d_z(n(z.numel())), d_zn(n(zn.numel())), d_r(n(r.numel())), d_gz(n(z.numel())), d_gzn(n(zn.numel())),
      d_terms(n(2 * B));
  DeviceBuffer<std::int32_t> d_labels(labels.size());
  d_z.upload(z.data());
  d_zn.upload(zn.data());
  d_r.upload(r.data());
  d_labels.upload(labels.data());
  const T ce_weight = T(1) / T(B), gr_weight = K > 0 ? T(2) * lambda / (T(B) * T(K) * T(C)) : T(0);
  const int threads = 128;
  detail::smoothness_loss_kernel<T><<<(B + threads - 1) / threads, threads>>>(
      d_z.get(), d_zn.get(), d_r.get(), d_labels.get(), B, K, C, ce_weight, gr_weight, d_gz.get(), d_gzn.get(), d_terms.get());
  check(cudaGetLastError(), "smoothness_loss_kernel launch");
  std::vector<T> terms(n(2 * B));
  d_gz.download(anchor_grad.data());
  d_gzn.download(neighbour_grad.data());
  d_terms.download(terms.data());
  // Sum the per-anchor terms in anchor order (deterministic).
  T ce = 0, gr = 0;
  for (int i = 0; i < B; ++i) {
    ce += terms[std::size_t(2 * i)];
    gr += terms[std::size_t(2 * i + 1)];
  }
  ce /= T(B);
  gr /= T(B);
  return {ce, gr, ce + lambda * gr};
}

}  // namespace farbound::cuda
