// Development harness of the Gaussian neighbour generation on the GPU:
// x_ik = x_i + sigma N(0, I), r_ik = ||x_ik - x_i||^2 from Philox, in one pass.
//
//   version 1: the library's kernel (cuda/neighbours.cuh): one thread per neighbour row
//              runs gaussian_neighbour_row, so r sums in the CPU's order and every bit
//              equals Neighbours<GaussianNoise>::fill. A warp's stores are rows apart.
// Validated bit for bit against the CPU sampler, then timed over threads per block, for
// B*K in {64, 4096, 262144} rows (K = 8) and D in {1024, 3072} values per point. Bytes
// counted: anchors read once, neighbours and r written.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "farbound/core/random.hpp"
#include "farbound/cuda/buffer.cuh"
#include "farbound/cuda/neighbours.cuh"
#include "farbound/sampling/neighbours.hpp"
#include "harness.cuh"

using namespace farbound;

namespace {

constexpr std::int64_t neighbours_per_anchor = 8;

// The library's kernel with a chosen block size (cuda::gaussian_neighbours uses 128).
void version1(const Neighbours<GaussianNoise>& sampler, std::int64_t rows, std::int64_t D, const float* anchors,
              const std::uint32_t* ids, float* neighbours, float* r, int threads) {
  cuda::detail::gaussian_neighbours_kernel<float><<<unsigned((rows + threads - 1) / threads), threads>>>(
      anchors, ids, rows, sampler.per_anchor(), D, sampler.perturbation().sigma(), sampler.seed(), 3, neighbours, r);
  FARBOUND_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

int main() {
  if (!harness::have_device()) return 77;
  const double copy_gbs = harness::copy_bandwidth_gbs();
  harness::print_device(copy_gbs);
  const Neighbours sampler(neighbours_per_anchor, GaussianNoise(0.01), 2026);
  bool all_ok = true;
  for (std::int64_t rows : {64, 4096, 262144})
    for (std::int64_t D : {1024, 3072}) {
      const std::int64_t B = rows / neighbours_per_anchor;
      const std::string size = "BK" + std::to_string(rows) + "_D" + std::to_string(D);
      Tensor<float> anchors({B, D}), neighbours({rows, D}), r({rows});
      RandomStream(5, Purpose::data).uniform(anchors.span());
      std::vector<std::uint32_t> ids(static_cast<std::size_t>(B));
      for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = std::uint32_t(3 * i + 1);
      sampler.fill(3, ids, anchors.view(), neighbours.view(), r.view());

      const auto d_anchors = cuda::to_device<float>(anchors.span());
      const auto d_ids = cuda::to_device<std::uint32_t>(ids);
      cuda::DeviceBuffer<float> d_neighbours(std::size_t(neighbours.numel())), d_r(static_cast<std::size_t>(rows));
      const double bytes = double(anchors.numel() + neighbours.numel() + rows) * sizeof(float);
      for (int threads : {32, 64, 128, 256}) {
        FARBOUND_CUDA_CHECK(cudaMemset(d_neighbours.data(), 0xFF, std::size_t(neighbours.numel()) * sizeof(float)));
        version1(sampler, rows, D, d_anchors.data(), d_ids.data(), d_neighbours.data(), d_r.data(), threads);
        const auto got = cuda::to_host(d_neighbours, std::size_t(neighbours.numel()));
        const auto got_r = cuda::to_host(d_r, std::size_t(rows));
        if (std::memcmp(got.data(), neighbours.data(), got.size() * sizeof(float)) != 0 ||
            std::memcmp(got_r.data(), r.data(), got_r.size() * sizeof(float)) != 0) {
          std::printf("MISMATCH v1 %s threads %d: not the CPU's bits\n", size.c_str(), threads);
          all_ok = false;
          continue;
        }
        harness::report("neighbours", "1", "threads" + std::to_string(threads), size,
                        harness::median_us([&] {
                          version1(sampler, rows, D, d_anchors.data(), d_ids.data(), d_neighbours.data(), d_r.data(),
                                   threads);
                        }),
                        bytes, copy_gbs);
      }
    }
  return all_ok ? 0 : 1;
}
