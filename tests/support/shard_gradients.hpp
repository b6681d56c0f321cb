#pragma once
// S shards of n values spanning 40 binary orders of magnitude, with both signs: their float
// sum depends on the order of the additions, so a test that gets the same bits from two
// schedules has really checked the order. The same on every process (std::mt19937 is fully
// specified).
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace farbound::test {

template <class T>
std::vector<T> shard_gradients(std::int64_t shards, std::size_t n, std::uint32_t seed) {
  std::mt19937 bits(seed);
  std::vector<T> v(std::size_t(shards) * n);
  for (T& x : v) {
    const double unit = double(bits()) / 4294967296.0 - 0.5;
    x = T(std::ldexp(unit, int(bits() % 40) - 20));
  }
  return v;
}

}  // namespace farbound::test
