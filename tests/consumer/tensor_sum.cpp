// A program built against farbound's CMake target from its sources (add_subdirectory or
// FetchContent). One small header keeps the build quick: what is checked is the wiring.
#include <farbound/core/tensor.hpp>

#include <cstdio>

int main() {
  farbound::Tensor<float> t({2, 3}, 0.5f);
  float sum = 0;
  for (std::int64_t i = 0; i < t.numel(); ++i) sum += t[i];
  std::printf("consumer: sum of a 2 x 3 tensor of halves = %g\n", sum);
  return sum == 3.0f ? 0 : 1;
}
