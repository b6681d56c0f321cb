// A program that uses farbound through its installed CMake package.
#include <farbound/farbound.hpp>

#include <cstdio>

int main() {
  farbound::Tensor<float> t({2, 3}, 1.0f);
  std::printf("consumer: farbound tensor of %lld elements\n", static_cast<long long>(t.numel()));
  return t.numel() == 6 ? 0 : 1;
}
