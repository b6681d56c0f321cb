// libFuzzer target: the safetensors parser on arbitrary bytes must either parse or throw
// farbound::error, and every tensor it accepts must be readable.
#include <cstddef>
#include <cstdint>
#include <span>

#include "farbound/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto file = farbound::parse_safetensors(std::span(reinterpret_cast<const std::byte*>(data), size), "fuzz");
    for (const auto& [key, entry] : file.tensors) (void)file.get<float>(key);
  } catch (const farbound::error&) {
  }
  return 0;
}
