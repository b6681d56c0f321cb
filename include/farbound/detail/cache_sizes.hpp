#pragma once
// The sizes of the data caches as the C library reports them (sysconf), for the kernels
// whose best path depends on what stays cached: the GEMM streams a B of up to half the L2
// (nn/detail/gemm.hpp), the smoothness loss writes its neighbour gradients past the caches
// only when they outgrow a share of the last level (regularize/smoothness_loss.hpp).
#include <cstdint>

#if __has_include(<unistd.h>)
#include <unistd.h>
#endif

namespace farbound::detail {

// Bytes of the level-2 or level-3 cache (level 2 or 3), or 0 where the C library does not
// say (these sysconf names are glibc's; under a hypervisor the sizes are what the guest is
// told: 480 MB of L3 on one 2-vCPU Xeon).
inline std::int64_t reported_cache_bytes(int level) {
  long bytes = 0;
#if defined(_SC_LEVEL2_CACHE_SIZE) && defined(_SC_LEVEL3_CACHE_SIZE)
  if (level == 2) bytes = sysconf(_SC_LEVEL2_CACHE_SIZE);
  if (level == 3) bytes = sysconf(_SC_LEVEL3_CACHE_SIZE);
#endif
  return bytes > 0 ? std::int64_t(bytes) : 0;
}

}  // namespace farbound::detail
