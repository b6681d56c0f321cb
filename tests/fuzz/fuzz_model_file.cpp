// libFuzzer target: the model-file reader on arbitrary bytes must either rebuild a model or
// throw farbound::error, never allocate more than the file backs (architecture sizes are
// charged against the stored elements first).
#include <cstddef>
#include <cstdint>
#include <span>

#include "farbound/io/model_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto file = farbound::parse_safetensors(std::span(reinterpret_cast<const std::byte*>(data), size), "fuzz");
    (void)farbound::load_model<float>(file);
  } catch (const farbound::error&) {
  }
  return 0;
}
