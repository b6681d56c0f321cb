#pragma once
// Whole cache lines written past the caches (streaming, non-temporal stores): a store to a
// line that is not in the cache first reads the line for ownership, so writing a large
// output from the caches costs its bytes twice on the way to memory. The smoothness loss's
// neighbour gradients at B*K*C beyond the caches stage each block of anchors' rows in the
// cache and stream them out (regularize/smoothness_loss.hpp, docs/performance.md).
#include <cstddef>
#include <cstring>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace farbound::detail {

inline constexpr std::size_t cache_line_bytes = 64;

// Copies `bytes` (a multiple of 64) from `from` to `to`, both 64-byte aligned, by streaming
// stores where the instruction set has them. Call stream_fence() before other threads read.
inline void stream_lines(const void* from, void* to, std::size_t bytes) {
  const char* in = static_cast<const char*>(from);
  char* out = static_cast<char*>(to);
  for (std::size_t at = 0; at < bytes; at += cache_line_bytes) {
#if defined(__AVX512F__)
    _mm512_stream_si512(reinterpret_cast<__m512i*>(out + at), _mm512_load_si512(in + at));
#elif defined(__AVX__)
    for (std::size_t half = 0; half < cache_line_bytes; half += 32)
      _mm256_stream_si256(reinterpret_cast<__m256i*>(out + at + half),
                          _mm256_load_si256(reinterpret_cast<const __m256i*>(in + at + half)));
#elif defined(__SSE2__)
    for (std::size_t quarter = 0; quarter < cache_line_bytes; quarter += 16)
      _mm_stream_si128(reinterpret_cast<__m128i*>(out + at + quarter),
                       _mm_load_si128(reinterpret_cast<const __m128i*>(in + at + quarter)));
#else
    std::memcpy(out + at, in + at, cache_line_bytes);
#endif
  }
}

// Streaming stores are weakly ordered: after this fence they are visible to every thread.
inline void stream_fence() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

}  // namespace farbound::detail
