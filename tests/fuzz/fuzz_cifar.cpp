// libFuzzer target: the CIFAR-10 batch reader on arbitrary bytes (plain or gzip) must
// either parse or throw farbound::error; what it accepts has labels 0..9 and whole records.
#include <cstddef>
#include <cstdint>
#include <span>

#include "farbound/data/cifar10.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  try {
    const farbound::ImageDataset set = farbound::read_cifar10(bytes, "fuzz");
    if (set.size() < 1 || set.shape() != farbound::Shape{set.size(), 3, 32, 32}) __builtin_trap();
    for (int y : set.labels())
      if (y < 0 || y > 9) __builtin_trap();
    volatile unsigned sum = 0;
    for (std::int64_t k = 0; k < set.inputs().numel(); ++k) sum = sum + set.inputs()[k];
  } catch (const farbound::error&) {
  }
  return 0;
}
