#pragma once
// What the CUDA development harnesses share (the pattern of llm.c's dev/cuda): timing by
// CUDA events, the device's measured copy bandwidth as the yardstick, and one RESULT line
// per (kernel, version, launch configuration, size) that run.sh turns into a table.
//
// Each harness holds the numbered versions of one kernel. Every version is first validated
// against the CPU result, then timed; version 1 is the library's kernel.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "farbound/cuda/buffer.cuh"
#include "farbound/cuda/check.cuh"

namespace harness {

// Median of `repeats` timings (microseconds) of launch(), after `warmup` untimed calls.
template <class F>
double median_us(F&& launch, int repeats = 15, int warmup = 3) {
  for (int i = 0; i < warmup; ++i) launch();
  cudaEvent_t start, stop;
  FARBOUND_CUDA_CHECK(cudaEventCreate(&start));
  FARBOUND_CUDA_CHECK(cudaEventCreate(&stop));
  std::vector<float> ms(static_cast<std::size_t>(repeats));
  for (auto& t : ms) {
    FARBOUND_CUDA_CHECK(cudaEventRecord(start));
    launch();
    FARBOUND_CUDA_CHECK(cudaEventRecord(stop));
    FARBOUND_CUDA_CHECK(cudaEventSynchronize(stop));
    FARBOUND_CUDA_CHECK(cudaEventElapsedTime(&t, start, stop));
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::nth_element(ms.begin(), ms.begin() + repeats / 2, ms.end());
  return 1e3 * ms[std::size_t(repeats / 2)];
}

template <class Word>
__global__ void copy_kernel(const Word* in, Word* out, std::size_t n) {
  for (std::size_t j = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; j < n; j += std::size_t(gridDim.x) * blockDim.x)
    out[j] = in[j];
}

// Device-to-device copy bandwidth (bytes read + bytes written per second, in GB/s) of a
// 16-byte-per-thread grid-stride copy of 512 MiB: what a memory-bound kernel can hope for.
inline double copy_bandwidth_gbs() {
  const std::size_t n = (std::size_t(512) << 20) / sizeof(float4);
  farbound::cuda::DeviceBuffer<float4> in(n), out(n);
  FARBOUND_CUDA_CHECK(cudaMemset(in.data(), 0, n * sizeof(float4)));
  int sms = 0;
  FARBOUND_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  const double us = median_us([&] { copy_kernel<<<unsigned(sms * 8), 256>>>(in.data(), out.data(), n); });
  return 2.0 * double(n * sizeof(float4)) / us * 1e-3;
}

// "RESULT kernel=K version=V config=C size=S us=T gbs=G copy_pct=P"
inline void report(const std::string& kernel, const std::string& version, const std::string& config,
                   const std::string& size, double us, double bytes, double copy_gbs) {
  const double gbs = bytes / us * 1e-3;
  std::printf("RESULT kernel=%s version=%s config=%s size=%s us=%.2f gbs=%.1f copy_pct=%.1f\n", kernel.c_str(),
              version.c_str(), config.c_str(), size.c_str(), us, gbs, 100.0 * gbs / copy_gbs);
  std::fflush(stdout);
}

inline void print_device(double copy_gbs) {
  cudaDeviceProp prop{};
  FARBOUND_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("DEVICE %s, %d SMs, copy bandwidth %.0f GB/s\n", prop.name, prop.multiProcessorCount, copy_gbs);
}

// Exit code 77 (skipped) without a device, as the tests.
inline bool have_device() {
  if (farbound::cuda::device_count() > 0) return true;
  std::printf("skipped: no CUDA device\n");
  return false;
}

}  // namespace harness
