// The CUDA tests' runner. Without a CUDA device (or driver) the program prints
// "skipped: no CUDA device" and exits with 77, which ctest reports as skipped.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>

#include "farbound/cuda/check.cuh"

int main(int argc, char** argv) {
  if (farbound::cuda::device_count() == 0) {
    std::printf("skipped: no CUDA device\n");
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
