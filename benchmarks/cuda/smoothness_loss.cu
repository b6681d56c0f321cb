// Development harness of the fused smoothness loss (forward + backward) on the GPU.
//
//   version 1: the library's kernel (cuda/smoothness_loss.cuh): one thread per anchor runs
//              smoothness_anchor<ScalarBlocks>, the CPU reference's function, straight
//              from global memory. Adjacent threads read rows (K+1)*C values apart.
//   version 2: the same function on a shared-memory copy: a block stages the logits of
//              its A anchors with coalesced loads, one thread per anchor computes on the
//              copy, and the block writes the gradients back coalesced.
//   api:       cuda::smoothness_loss as a caller sees it: version 1, the deterministic sums
//              and the one synchronisation.
// Every version is checked against the CPU reference (loss and every gradient within
// 1e-5 relative to the largest gradient), then timed over launch configurations, for
// B*K in {64, 4096, 262144} rows (K = 8) and C in {10, 100, 1000}. Bytes counted: logits
// and r read, gradients written, once each.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "farbound/core/random.hpp"
#include "farbound/cuda/buffer.cuh"
#include "farbound/cuda/smoothness_loss.cuh"
#include "farbound/regularize/smoothness_loss.hpp"
#include "harness.cuh"

using namespace farbound;

namespace {

constexpr std::int64_t neighbours_per_anchor = 8;

struct Problem {
  std::int64_t B, K, C;
  Tensor<float> logits, r, reference_grad;  // logits [B + B*K, C]: anchors then neighbours
  std::vector<std::int32_t> labels;
  SmoothnessLossValue<float> reference;
  cuda::DeviceBuffer<float> d_logits, d_r, d_grad;
  cuda::DeviceBuffer<std::int32_t> d_labels;
  cuda::DeviceBuffer<double> d_terms;
  cuda::DeviceBuffer<cuda::detail::SmoothnessStatus> d_status;  // the data are valid: it stays "none bad"

  Problem(std::int64_t rows, std::int64_t c)
      : B(rows / neighbours_per_anchor), K(neighbours_per_anchor), C(c), logits({B + rows, c}), r({rows}),
        reference_grad({B + rows, c}) {
    RandomStream(1, Purpose::user, std::uint32_t(rows), std::uint32_t(c)).normal(logits.span(), 3.0);
    RandomStream(2, Purpose::user, std::uint32_t(rows), std::uint32_t(c)).uniform(r.span());
    for (auto& v : r.span()) v += 1e-2f;
    for (std::int64_t i = 0; i < B; ++i) labels.push_back(i % 4 == 0 ? -1 : std::int32_t(i % c));
    reference = farbound::detail::smoothness_loss_with<farbound::detail::ScalarBlocks, float>(
        logits.view().slice(0, B), logits.view().slice(B, rows), r.view(), labels, 1.0f,
        reference_grad.view().slice(0, B), reference_grad.view().slice(B, rows));
    d_logits = cuda::to_device<float>(logits.span());
    d_r = cuda::to_device<float>(r.span());
    d_labels = cuda::to_device<std::int32_t>(labels);
    d_grad.reserve(std::size_t(logits.numel()));
    d_terms.reserve(std::size_t(2 * B));
    d_status.reserve(1);
  }
  float* grad(std::int64_t row) const { return d_grad.data() + row * C; }
  const float* z(std::int64_t row) const { return d_logits.data() + row * C; }
  double bytes() const { return double(logits.numel()) * 2 * sizeof(float) + double(r.numel()) * sizeof(float); }
  std::string size() const { return "BK" + std::to_string(B * K) + "_C" + std::to_string(C); }
  farbound::detail::SmoothnessWeights<float> weights() const { return farbound::detail::smoothness_weights(B, K, C, 1.0f); }

  // The device gradients and the sums of the per-anchor terms against the CPU reference.
  bool matches_reference(const char* version) const {
    const auto g = cuda::to_host(d_grad, std::size_t(logits.numel()));
    const auto terms = cuda::to_host(d_terms, std::size_t(2 * B));
    double ce = 0, gr = 0, scale = 0, worst = 0;
    for (std::int64_t i = 0; i < B; ++i) {
      ce += terms[std::size_t(i)];
      gr += terms[std::size_t(B + i)];
    }
    for (std::int64_t j = 0; j < logits.numel(); ++j) {
      scale = std::max(scale, double(std::abs(reference_grad[j])));
      worst = std::max(worst, double(std::abs(g[std::size_t(j)] - reference_grad[j])));
    }
    const double loss = (ce + gr) / double(B);
    const bool ok = worst <= 1e-5 * scale && std::abs(loss - reference.total) <= 1e-5 * std::abs(reference.total);
    if (!ok)
      std::printf("MISMATCH %s %s: loss %.8g vs CPU %.8g, worst gradient error %.3g of %.3g\n", version, size().c_str(),
                  loss, double(reference.total), worst, scale);
    return ok;
  }
};

void version1(const Problem& p, int threads) {
  const auto w = p.weights();
  cuda::detail::smoothness_terms_kernel<float><<<unsigned((p.B + threads - 1) / threads), threads>>>(
      p.z(0), p.z(p.B), p.d_r.data(), p.d_labels.data(), p.B, p.K, p.C, w.ce_weight, w.gr_weight, p.grad(0),
      p.grad(p.B), p.d_terms.data(), p.d_status.data());
  FARBOUND_CUDA_CHECK(cudaGetLastError());
}

// Version 2: A anchors per block; shared memory holds their logits and gradients.
__global__ void smoothness_staged_kernel(const float* z, const float* zn, const float* r, const std::int32_t* labels,
                                         std::int64_t B, std::int64_t K, std::int64_t C, float ce_weight,
                                         float gr_weight, float* dz, float* dzn, double* terms, int A) {
  extern __shared__ float staged[];
  const std::int64_t first = std::int64_t(blockIdx.x) * A;
  const std::int64_t count = B - first < A ? B - first : A;
  float* s_z = staged;               // [A, C]
  float* s_zn = s_z + A * C;         // [A*K, C]
  float* s_dz = s_zn + A * K * C;    // [A, C]
  float* s_dzn = s_dz + A * C;       // [A*K, C]
  for (std::int64_t j = threadIdx.x; j < count * C; j += blockDim.x) s_z[j] = z[first * C + j];
  for (std::int64_t j = threadIdx.x; j < count * K * C; j += blockDim.x) s_zn[j] = zn[first * K * C + j];
  __syncthreads();
  if (threadIdx.x < count) {
    const std::int64_t a = threadIdx.x, i = first + a;
    const std::int32_t label = labels[i];
    const auto t = farbound::detail::smoothness_anchor<farbound::detail::ScalarBlocks>(
        s_z + a * C, s_zn + a * K * C, r + i * K, std::size_t(K), std::size_t(C), label,
        label >= 0 ? ce_weight : 0.0f, gr_weight, s_dz + a * C, s_dzn + a * K * C);
    terms[i] = t.cross_entropy;
    terms[B + i] = t.smoothness;
  }
  __syncthreads();
  for (std::int64_t j = threadIdx.x; j < count * C; j += blockDim.x) dz[first * C + j] = s_dz[j];
  for (std::int64_t j = threadIdx.x; j < count * K * C; j += blockDim.x) dzn[first * K * C + j] = s_dzn[j];
}

// Returns false when A anchors do not fit in the shared memory of a block.
bool version2(const Problem& p, int A) {
  const std::size_t bytes = 2 * std::size_t(A) * std::size_t(p.K + 1) * std::size_t(p.C) * sizeof(float);
  int limit = 0;
  FARBOUND_CUDA_CHECK(cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0));
  if (bytes > std::size_t(limit)) return false;
  FARBOUND_CUDA_CHECK(cudaFuncSetAttribute(smoothness_staged_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)));
  const auto w = p.weights();
  const int threads = std::max(32, (A + 31) / 32 * 32);
  smoothness_staged_kernel<<<unsigned((p.B + A - 1) / A), threads, bytes>>>(
      p.z(0), p.z(p.B), p.d_r.data(), p.d_labels.data(), p.B, p.K, p.C, w.ce_weight, w.gr_weight, p.grad(0),
      p.grad(p.B), p.d_terms.data(), A);
  FARBOUND_CUDA_CHECK(cudaGetLastError());
  return true;
}

}  // namespace

int main() {
  if (!harness::have_device()) return 77;
  const double copy_gbs = harness::copy_bandwidth_gbs();
  harness::print_device(copy_gbs);
  bool all_ok = true;
  for (std::int64_t rows : {64, 4096, 262144})
    for (std::int64_t C : {10, 100, 1000}) {
      Problem p(rows, C);
      const auto clear = [&] { FARBOUND_CUDA_CHECK(cudaMemset(p.d_grad.data(), 0xFF, std::size_t(p.logits.numel()) * sizeof(float))); };
      for (int threads : {32, 64, 128, 256}) {
        clear();
        version1(p, threads);
        if (!p.matches_reference("v1")) { all_ok = false; continue; }
        harness::report("smoothness_loss", "1", "threads" + std::to_string(threads), p.size(),
                        harness::median_us([&] { version1(p, threads); }), p.bytes(), copy_gbs);
      }
      for (int A : {1, 4, 16, 64}) {
        clear();
        if (!version2(p, A)) continue;
        if (!p.matches_reference("v2")) { all_ok = false; continue; }
        harness::report("smoothness_loss", "2", "anchors" + std::to_string(A), p.size(),
                        harness::median_us([&] { version2(p, A); }), p.bytes(), copy_gbs);
      }
      cuda::SmoothnessWorkspace workspace;
      const auto call = [&] {
        return cuda::smoothness_loss<float>(
            TensorView<const float>(p.z(0), Shape{p.B, p.C}), TensorView<const float>(p.z(p.B), Shape{p.B * p.K, p.C}),
            TensorView<const float>(p.d_r.data(), p.r.shape()), std::span<const std::int32_t>(p.d_labels.data(), p.labels.size()),
            1.0f, TensorView<float>(p.grad(0), Shape{p.B, p.C}), TensorView<float>(p.grad(p.B), Shape{p.B * p.K, p.C}),
            workspace);
      };
      const auto value = call();
      if (std::abs(value.total - p.reference.total) > 1e-5 * std::abs(p.reference.total)) {
        std::printf("MISMATCH api %s: loss %.8g vs CPU %.8g\n", p.size().c_str(), double(value.total), double(p.reference.total));
        all_ok = false;
      } else {
        harness::report("smoothness_loss", "api", "threads128", p.size(), harness::median_us([&] { call(); }), p.bytes(),
                        copy_gbs);
      }
    }
  return all_ok ? 0 : 1;
}
