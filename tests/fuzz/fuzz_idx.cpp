// libFuzzer target: the IDX readers on arbitrary bytes must either parse or throw
// farbound::error, never read out of bounds, and never allocate what the bytes do not hold
// (run.sh sets -malloc_limit_mb). The input is read as an image file, as a label file, and
// split in two (first byte = length of the image part) as an image + label pair.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "farbound/data/idx.hpp"

namespace {

// Touches every pixel so that ASan sees any bad byte.
unsigned checksum(const farbound::Tensor<std::uint8_t>& t) {
  unsigned sum = 0;
  for (std::int64_t k = 0; k < t.numel(); ++k) sum += t[k];
  return sum;
}

void check_labels(std::span<const int> labels, int num_classes) {
  for (int y : labels)
    if (y < 0 || y >= num_classes) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  volatile unsigned sink = 0;
  try {
    const auto images = farbound::read_idx_images(bytes, "fuzz");
    if (images.rank() != 4) __builtin_trap();
    sink = sink + checksum(images);
  } catch (const farbound::error&) {
  }
  try {
    check_labels(farbound::read_idx_labels(bytes, "fuzz", 10), 10);
  } catch (const farbound::error&) {
  }
  if (size > 0) {
    const std::size_t split = std::min<std::size_t>(data[0], size - 1);
    try {
      const auto set = farbound::read_idx(bytes.subspan(1, split), "images", bytes.subspan(1 + split), "labels");
      if (std::int64_t(set.labels().size()) != set.size()) __builtin_trap();
      check_labels(set.labels(), set.num_classes());
      sink = sink + checksum(farbound::Tensor<std::uint8_t>::from_view(set.inputs()));
    } catch (const farbound::error&) {
    }
  }
  return 0;
}
