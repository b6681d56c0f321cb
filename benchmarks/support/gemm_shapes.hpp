#pragma once
// The GEMM shapes the benchmarks time (C[M, N] = A[M, K] B[K, N], row-major): 1024^3, the usual
// yardstick; LeNet's per-image products at batch 64 (conv1, conv2 forward; dense 400->120);
// ResNet9's convolutions at batch 32 lowered over the whole batch (M = out channels,
// N = 32 * H * W, K = 9 * in channels), the products of its forward pass.
#include <cstdint>
#include <string>
#include <vector>

namespace farbound::bench {

struct GemmShape {
  std::string name;
  std::int64_t M, N, K;
};

inline std::vector<GemmShape> gemm_shapes() {
  return {{"1024^3", 1024, 1024, 1024},
          {"lenet conv1 (per image)", 6, 784, 25},
          {"lenet conv2 (per image)", 16, 100, 150},
          {"lenet dense 400->120", 64, 120, 400},
          {"resnet9 conv 3->32", 32, 32768, 27},
          {"resnet9 conv 32->64", 64, 32768, 288},
          {"resnet9 conv 64->64", 64, 8192, 576},
          {"resnet9 conv 64->128", 128, 8192, 576},
          {"resnet9 conv 128->128", 128, 2048, 1152},
          {"resnet9 conv 128->512", 512, 2048, 1152},
          {"resnet9 conv 512->512", 512, 2048, 4608}};
}

}  // namespace farbound::bench
