#include "farbound/sampling/gaussian_row.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <vector>

#include "farbound/sampling/neighbours.hpp"

using namespace farbound;

namespace {

// Bitwise equality, also for -0.0 and NaN.
template <class T>
bool same_bits(const T* a, const T* b, std::size_t n) {
  return std::memcmp(a, b, n * sizeof(T)) == 0;
}

template <class T>
void check_neighbours_match_gaussian_row(std::int64_t item) {
  const std::int64_t B = 3, K = 4;
  const std::uint64_t seed = 17;
  const std::uint32_t epoch = 5;
  const std::vector<std::uint32_t> ids = {9, 0, 123456};
  Tensor<T> anchors({B, item}), neighbours({B * K, item}), r({B * K});
  RandomStream(2, Purpose::data).uniform(anchors.span());
  Neighbours(K, GaussianNoise(0.03), seed).fill(epoch, ids, anchors.view(), neighbours.view(), r.view());
  std::vector<T> row(std::size_t(item), T(0));
  for (std::int64_t i = 0; i < B; ++i)
    for (std::int64_t k = 0; k < K; ++k) {
      const RandomStream s(seed, Purpose::neighbour, epoch, ids[std::size_t(i)], std::uint32_t(k));
      const T squares = T(gaussian_neighbour_row(s, anchors.data() + i * item, row.data(), row.size(), 0.03));
      REQUIRE(same_bits(row.data(), neighbours.data() + (i * K + k) * item, row.size()));
      REQUIRE(same_bits(&squares, r.data() + i * K + k, 1));
    }
}

}  // namespace

TEST_CASE("gaussian_neighbour_row (the CUDA kernel's function) gives Neighbours' bits", "[neighbours]") {
  // Lengths that end inside a Philox block and inside a SIMD chunk, and a CIFAR image.
  for (std::int64_t item : {1, 5, 37, 3072}) check_neighbours_match_gaussian_row<float>(item);
  check_neighbours_match_gaussian_row<double>(37);
}
