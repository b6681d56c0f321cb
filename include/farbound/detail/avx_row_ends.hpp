#pragma once
// The last, partial register of a row of floats on AVX and AVX2 (the 2 x 2 max-pool's rows
// of fewer than 8 windows, LeNet's 5; the last vector of a whole-row pool's run; the few-row
// product's blocks of 8 columns and 8 k's; the last block of 8 classes of the smoothness
// loss's rows on lanes and of their squared distances; a row's last block in the walkers'
// sums, detail/lanes.hpp's PartialLanes): loaded by vmaskmovps, which reads nothing past
// the row and gives zeros in the lanes beyond it, and stored by a 4-, 2- and 1-float ladder.
// vmaskmovps as a store takes 13 cycles on Zen 3 (3.8 ns against 0.45 for a whole-register
// store, measured in a loop of stores); the ladder is at most three stores.
#if defined(__AVX__) && !defined(__AVX512F__)
#include <cstdint>

#include <immintrin.h>

namespace farbound::detail {

// All ones in lanes [0, m), zeros past them; 0 <= m <= 8.
inline __m256i first_lanes_bits(std::int64_t m) {
  alignas(32) static constexpr std::int32_t ones_then_zeros[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ones_then_zeros + 8 - m));
}

// Lanes [0, m) of p, zeros past them; 0 <= m <= 8.
inline __m256 load_first(const float* p, std::int64_t m) { return _mm256_maskload_ps(p, first_lanes_bits(m)); }

// Writes lanes [0, m) of v to p; 0 <= m <= 8.
inline void store_first(float* p, __m256 v, std::int64_t m) {
  if (m == 8) return _mm256_storeu_ps(p, v);
  __m128 part = _mm256_castps256_ps128(v);
  if (m & 4) {
    _mm_storeu_ps(p, part);
    part = _mm256_extractf128_ps(v, 1);
    p += 4;
  }
  if (m & 2) {
    _mm_storel_pi(reinterpret_cast<__m64*>(p), part);
    part = _mm_movehl_ps(part, part);
    p += 2;
  }
  if (m & 1) _mm_store_ss(p, part);
}

}  // namespace farbound::detail
#endif
