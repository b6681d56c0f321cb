#pragma once
// Build-wide switches.
#include <cstddef>

#define FARBOUND_VERSION_MAJOR 0
#define FARBOUND_VERSION_MINOR 1
#define FARBOUND_VERSION_PATCH 0

namespace farbound {
// Every tensor's storage starts on a 64-byte boundary: one cache line, one AVX-512 register.
inline constexpr std::size_t tensor_alignment = 64;
}  // namespace farbound
