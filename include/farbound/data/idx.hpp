#pragma once
// IDX files, the format of MNIST and Fashion-MNIST, plain or gzip-compressed.
//
// Layout (all integers big-endian):
//   bytes 0-1  zero
//   byte  2    element type; 0x08 = unsigned byte, the only one image sets use
//   byte  3    number of dimensions d
//   d x uint32 extents, then the elements in row-major order.
// Image files have d = 3 (N, rows, cols), read as (N, 1, rows, cols), or d = 4
// (N, C, rows, cols); label files have d = 1 (N). A file must hold exactly what its header
// says: fewer bytes, more bytes, an unknown magic or a label out of range is an io_error
// "<file>: byte <offset>: <problem>". The header is checked against the data that really
// exists before anything of its claimed size is allocated.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/core/shape.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/data/dataset.hpp"
#include "farbound/data/detail/byte_source.hpp"

namespace farbound {

namespace detail {

// No IDX payload above 2^40 bytes (Tensor's own limit); larger claims are rejected
// before any look-ahead.
inline constexpr std::uint64_t max_idx_bytes = std::uint64_t(1) << 40;

struct IdxHeader {
  std::vector<std::uint64_t> extents;
  std::uint64_t payload_bytes = 0;  // product of the extents
};

// Reads and checks magic, element type, rank (one of `ranks`) and the extents.
inline IdxHeader read_idx_header(ByteSource& src, std::initializer_list<int> ranks, const char* kind) {
  std::uint8_t magic[4];
  src.read(magic, 4, "the IDX magic number");
  if (magic[0] != 0 || magic[1] != 0)
    src.fail(0, "not an IDX file: the magic number starts with " + std::to_string(magic[0]) + ", " +
                    std::to_string(magic[1]) + " instead of 0, 0");
  if (magic[2] != 0x08)
    src.fail(2, "element type " + std::to_string(magic[2]) + " is not supported (only 8, unsigned byte)");
  bool rank_ok = false;
  std::string allowed;
  for (int r : ranks) {
    rank_ok = rank_ok || magic[3] == r;
    allowed += (allowed.empty() ? "" : " or ") + std::to_string(r);
  }
  if (!rank_ok)
    src.fail(3, std::to_string(magic[3]) + " dimensions, but " + kind + " files have " + allowed);

  IdxHeader h;
  h.payload_bytes = 1;
  for (int d = 0; d < magic[3]; ++d) {
    const std::uint64_t at = src.offset();
    std::uint8_t be[4];
    src.read(be, 4, "extent " + std::to_string(d) + " of the IDX header");
    const std::uint64_t e = (std::uint64_t(be[0]) << 24) | (std::uint64_t(be[1]) << 16) | (std::uint64_t(be[2]) << 8) |
                            std::uint64_t(be[3]);
    if (d > 0 && e == 0) src.fail(at, "extent " + std::to_string(d) + " is zero");
    // Overflow-safe: the running product stays <= max_idx_bytes.
    if (e != 0 && h.payload_bytes > max_idx_bytes / e)
      src.fail(at, "the header's extents claim more than " + std::to_string(max_idx_bytes) + " bytes of data");
    h.payload_bytes *= e;
    h.extents.push_back(e);
  }
  return h;
}

// Images with an optional expected count (the label file's), checked before allocating.
inline Tensor<std::uint8_t> parse_idx_images(ByteSource& src, std::optional<std::uint64_t> expected_count,
                                             const std::string& count_source) {
  const IdxHeader h = read_idx_header(src, {3, 4}, "image");
  if (expected_count && h.extents[0] != *expected_count)
    src.fail(4, std::to_string(h.extents[0]) + " images, but " + count_source + " has " +
                    std::to_string(*expected_count) + " labels");
  const auto e = [&](std::size_t i) { return static_cast<std::int64_t>(h.extents[i]); };
  const Shape shape = h.extents.size() == 3 ? Shape{e(0), 1, e(1), e(2)} : Shape{e(0), e(1), e(2), e(3)};
  src.require(h.payload_bytes, "the pixel data of " + shape.to_string());
  Tensor<std::uint8_t> images(shape);
  src.read(images.data(), h.payload_bytes, "the pixel data");
  src.expect_end("the pixel data");
  return images;
}

inline std::vector<int> parse_idx_labels(ByteSource& src, int num_classes) {
  if (num_classes < 1 || num_classes > 256)
    throw argument_error("read_idx_labels: num_classes must be in [1, 256], got " + std::to_string(num_classes));
  const IdxHeader h = read_idx_header(src, {1}, "label");
  src.require(h.payload_bytes, "the labels");
  const std::uint64_t start = src.offset();
  std::vector<std::uint8_t> raw(h.payload_bytes);
  src.read(raw.data(), raw.size(), "the labels");
  src.expect_end("the labels");
  std::vector<int> labels(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] >= num_classes)
      src.fail(start + i, "label " + std::to_string(raw[i]) + " outside [0, " + std::to_string(num_classes) + ")");
    labels[i] = raw[i];
  }
  return labels;
}

}  // namespace detail

// Images (N, C, rows, cols) from an IDX image file held in memory; `name` is used in messages.
inline Tensor<std::uint8_t> read_idx_images(std::span<const std::byte> bytes, const std::string& name) {
  detail::ByteSource src(bytes, name);
  return detail::parse_idx_images(src, std::nullopt, {});
}

// Labels in [0, num_classes) from an IDX label file held in memory.
inline std::vector<int> read_idx_labels(std::span<const std::byte> bytes, const std::string& name, int num_classes = 10) {
  detail::ByteSource src(bytes, name);
  return detail::parse_idx_labels(src, num_classes);
}

// An image set from an image file and a label file held in memory: the two must agree on
// the number of items.
inline ImageDataset read_idx(std::span<const std::byte> image_bytes, const std::string& image_name,
                             std::span<const std::byte> label_bytes, const std::string& label_name,
                             int num_classes = 10) {
  std::vector<int> labels = read_idx_labels(label_bytes, label_name, num_classes);
  detail::ByteSource src(image_bytes, image_name);
  Tensor<std::uint8_t> images = detail::parse_idx_images(src, labels.size(), label_name);
  return ImageDataset(std::move(images), std::move(labels), num_classes);
}

// The same from files (gzip or plain, told apart by their first bytes). The compressed
// bytes of one file are held only while it is parsed.
inline ImageDataset load_idx(const std::filesystem::path& images, const std::filesystem::path& labels,
                             int num_classes = 10) {
  std::vector<int> label_values = [&] {
    const std::vector<std::byte> bytes = detail::read_file_bytes(labels);
    return read_idx_labels(bytes, labels.string(), num_classes);
  }();
  Tensor<std::uint8_t> pixels = [&] {
    const std::vector<std::byte> bytes = detail::read_file_bytes(images);
    detail::ByteSource src(bytes, images.string());
    return detail::parse_idx_images(src, label_values.size(), labels.string());
  }();
  return ImageDataset(std::move(pixels), std::move(label_values), num_classes);
}

}  // namespace farbound
