#pragma once
// CIFAR-10 binary batches (cifar-10-batches-bin: data_batch_1.bin .. data_batch_5.bin,
// test_batch.bin), plain or gzip-compressed.
//
// A file is a sequence of 3073-byte records and nothing else: one label byte (0..9), then
// 3072 pixel bytes, the 1024 red values of the 32x32 image in row-major order, then the
// green, then the blue. That is already (C, H, W) order, so records are copied as they are
// into an (N, 3, 32, 32) uint8 tensor. A file whose size is not a positive multiple of
// 3073, or a label above 9, is an io_error "<file>: byte <offset>: <problem>".
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "farbound/core/tensor.hpp"
#include "farbound/data/dataset.hpp"
#include "farbound/data/detail/byte_source.hpp"

namespace farbound {

// The class names, by label.
inline constexpr std::array<const char*, 10> cifar10_classes = {
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};

namespace detail {

inline constexpr std::uint64_t cifar10_pixel_bytes = 3 * 32 * 32;
inline constexpr std::uint64_t cifar10_record_bytes = 1 + cifar10_pixel_bytes;
inline constexpr std::uint64_t max_cifar10_bytes = std::uint64_t(1) << 40;

// Number of records in the rest of `src`, checking that it is a whole positive number.
inline std::uint64_t count_cifar10_records(const ByteSource& src) {
  const std::uint64_t size = src.count_remaining(max_cifar10_bytes);
  if (size > max_cifar10_bytes) src.fail(max_cifar10_bytes, "more than " + std::to_string(max_cifar10_bytes) + " bytes");
  if (size == 0) src.fail(0, "empty: a CIFAR-10 batch holds at least one 3073-byte record");
  const std::uint64_t whole = size / cifar10_record_bytes;
  if (size % cifar10_record_bytes != 0)
    src.fail(whole * cifar10_record_bytes, "truncated record: " + std::to_string(size % cifar10_record_bytes) +
                                               " bytes after the last whole record (records are 3073 bytes)");
  return whole;
}

// Reads exactly `records` records into pixels (records x 3072) and labels.
inline void parse_cifar10_records(ByteSource& src, std::uint64_t records, std::uint8_t* pixels, int* labels) {
  for (std::uint64_t r = 0; r < records; ++r) {
    const std::uint64_t at = src.offset();
    std::uint8_t label;
    src.read(&label, 1, "the label of record " + std::to_string(r));
    if (label > 9) src.fail(at, "label " + std::to_string(label) + " of record " + std::to_string(r) + " outside [0, 10)");
    labels[r] = label;
    src.read(pixels + r * cifar10_pixel_bytes, cifar10_pixel_bytes, "the pixels of record " + std::to_string(r));
  }
  src.expect_end("record " + std::to_string(records));
}

}  // namespace detail

// One CIFAR-10 batch held in memory; `name` is used in messages.
inline ImageDataset read_cifar10(std::span<const std::byte> bytes, const std::string& name) {
  detail::ByteSource src(bytes, name);
  const std::uint64_t n = detail::count_cifar10_records(src);
  Tensor<std::uint8_t> images({std::int64_t(n), 3, 32, 32});
  std::vector<int> labels(n);
  detail::parse_cifar10_records(src, n, images.data(), labels.data());
  return ImageDataset(std::move(images), std::move(labels), 10);
}

// Several batch files, concatenated in the given order. Each file is read twice (once to
// count its records, once to parse them) so that only the final tensor is ever held whole.
inline ImageDataset load_cifar10(std::span<const std::filesystem::path> files) {
  std::vector<std::uint64_t> counts;
  std::uint64_t total = 0;
  for (const auto& path : files) {
    const std::vector<std::byte> bytes = detail::read_file_bytes(path);
    const detail::ByteSource src(bytes, path.string());
    counts.push_back(detail::count_cifar10_records(src));
    total += counts.back();
  }
  Tensor<std::uint8_t> images({std::int64_t(total), 3, 32, 32});
  std::vector<int> labels(total);
  std::uint64_t first = 0;
  for (std::size_t f = 0; f < files.size(); ++f) {
    const std::vector<std::byte> bytes = detail::read_file_bytes(files[f]);
    detail::ByteSource src(bytes, files[f].string());
    detail::parse_cifar10_records(src, counts[f], images.data() + first * detail::cifar10_pixel_bytes,
                                  labels.data() + first);
    first += counts[f];
  }
  return ImageDataset(std::move(images), std::move(labels), 10);
}

// The training batches (data_batch_1.bin .. data_batch_5.bin, 50000 images) or the test
// batch (test_batch.bin, 10000 images) of an extracted cifar-10-batches-bin directory.
inline ImageDataset load_cifar10_dir(const std::filesystem::path& dir, DataPart part) {
  std::vector<std::filesystem::path> files;
  if (part == DataPart::train)
    for (int i = 1; i <= 5; ++i) files.push_back(dir / ("data_batch_" + std::to_string(i) + ".bin"));
  else
    files.push_back(dir / "test_batch.bin");
  return load_cifar10(files);
}

}  // namespace farbound
