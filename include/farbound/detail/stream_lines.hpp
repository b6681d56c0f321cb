#pragma once
// Whole cache lines written past the caches (streaming, non-temporal stores): a store to a
// line that is not in the cache first reads the line for ownership, so writing a large
// output from the caches costs its bytes twice on the way to memory. The smoothness loss's
// neighbour gradients at B*K*C beyond the caches stage each block of anchors' rows in the
// cache and stream them out (regularize/smoothness_loss.hpp, docs/performance.md).
#include <cstddef>
#include <cstring>

#include "farbound/core/host_device.hpp"

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace farbound::detail {

inline constexpr std::size_t cache_line_bytes = 64;

// Copies one cache line from `from` to `to`, both 64-byte aligned, by streaming stores where
// the instruction set has them. Call stream_fence() before other threads read.
FARBOUND_FORCE_INLINE void stream_line(const void* from, void* to) {
  const char* in = static_cast<const char*>(from);
  char* out = static_cast<char*>(to);
#if defined(__AVX512F__)
  _mm512_stream_si512(reinterpret_cast<__m512i*>(out), _mm512_load_si512(in));
#elif defined(__AVX__)
  for (std::size_t half = 0; half < cache_line_bytes; half += 32)
    _mm256_stream_si256(reinterpret_cast<__m256i*>(out + half),
                        _mm256_load_si256(reinterpret_cast<const __m256i*>(in + half)));
#elif defined(__SSE2__)
  for (std::size_t quarter = 0; quarter < cache_line_bytes; quarter += 16)
    _mm_stream_si128(reinterpret_cast<__m128i*>(out + quarter),
                     _mm_load_si128(reinterpret_cast<const __m128i*>(in + quarter)));
#else
  std::memcpy(out, in, cache_line_bytes);
#endif
}

// stream_line over `bytes` (a multiple of 64).
inline void stream_lines(const void* from, void* to, std::size_t bytes) {
  for (std::size_t at = 0; at < bytes; at += cache_line_bytes)
    stream_line(static_cast<const char*>(from) + at, static_cast<char*>(to) + at);
}

// Streaming stores are weakly ordered: after this fence they are visible to every thread.
inline void stream_fence() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

}  // namespace farbound::detail
