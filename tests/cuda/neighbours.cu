// cuda::gaussian_neighbours against Neighbours<GaussianNoise>::fill: the same bits.
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "farbound/cuda/buffer.cuh"
#include "farbound/cuda/neighbours.cuh"
#include "farbound/sampling/neighbours.hpp"

using namespace farbound;
using cuda::to_device;
using cuda::to_host;

namespace {

template <class T>
void check_device_neighbours_bitwise(std::int64_t item) {
  INFO("item " << item);
  const std::int64_t B = 5, K = 3;
  const Neighbours sampler(K, GaussianNoise(0.02), 99);
  const std::vector<std::uint32_t> ids = {4, 0, 77, 1u << 31, 12};
  Tensor<T> anchors({B, item}), neighbours({B * K, item}), r({B * K});
  RandomStream(3, Purpose::data).uniform(anchors.span());
  sampler.fill(6, ids, anchors.view(), neighbours.view(), r.view());

  const auto d_anchors = to_device<T>(anchors.span());
  const auto d_ids = to_device<std::uint32_t>(ids);
  cuda::DeviceBuffer<T> d_neighbours(std::size_t(neighbours.numel())), d_r(static_cast<std::size_t>(r.numel()));
  cuda::gaussian_neighbours<T>(sampler, 6, std::span<const std::uint32_t>(d_ids.data(), ids.size()),
                               TensorView<const T>(d_anchors.data(), anchors.shape()),
                               TensorView<T>(d_neighbours.data(), neighbours.shape()), TensorView<T>(d_r.data(), r.shape()));
  FARBOUND_CUDA_CHECK(cudaDeviceSynchronize());
  const auto got = to_host(d_neighbours, std::size_t(neighbours.numel()));
  const auto got_r = to_host(d_r, std::size_t(r.numel()));
  CHECK(std::memcmp(got.data(), neighbours.data(), got.size() * sizeof(T)) == 0);
  CHECK(std::memcmp(got_r.data(), r.data(), got_r.size() * sizeof(T)) == 0);
}

}  // namespace

TEST_CASE("cuda::gaussian_neighbours makes the CPU's neighbours bit for bit", "[cuda][neighbours]") {
  for (std::int64_t item : {1, 7, 3072}) check_device_neighbours_bitwise<float>(item);
  check_device_neighbours_bitwise<double>(37);
}

TEST_CASE("cuda::gaussian_neighbours checks shapes as Neighbours::fill does", "[cuda][neighbours]") {
  const Neighbours sampler(2, GaussianNoise(0.1), 1);
  cuda::DeviceBuffer<float> buffer(64);
  cuda::DeviceBuffer<std::uint32_t> ids(2);
  const std::span<const std::uint32_t> two_ids(ids.data(), 2);
  CHECK_THROWS_AS(cuda::gaussian_neighbours<float>(sampler, 0, two_ids, TensorView<const float>(buffer.data(), Shape{2, 4}),
                                                   TensorView<float>(buffer.data(), Shape{3, 4}),
                                                   TensorView<float>(buffer.data(), Shape{4})),
                  shape_error);
  CHECK_THROWS_AS(cuda::gaussian_neighbours<float>(sampler, 0, two_ids, TensorView<const float>(buffer.data(), Shape{2, 4}),
                                                   TensorView<float>(buffer.data(), Shape{4, 4}),
                                                   TensorView<float>(buffer.data(), Shape{3})),
                  shape_error);
}
