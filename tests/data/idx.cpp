#include "farbound/data/idx.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/bytes.hpp"

using namespace farbound;
using namespace farbound::test;

namespace {

void check_images(const Tensor<std::uint8_t>& images, std::int64_t n, std::int64_t rows, std::int64_t cols) {
  REQUIRE(images.shape() == Shape{n, 1, rows, cols});
  for (std::int64_t k = 0; k < images.numel(); ++k) REQUIRE(images[k] == std::uint8_t(k % 251));
}

std::filesystem::path write_idx_temp(const std::string& name, const Bytes& bytes) {
  return write_file(std::filesystem::temp_directory_path() / "farbound_test_idx" / name, bytes);
}

}  // namespace

TEST_CASE("IDX images and labels read plain and gzip-compressed", "[idx]") {
  const Bytes images = idx_images(3, 2, 3), labels = idx_labels({7, 0, 9});
  for (bool compressed : {false, true}) {
    INFO("gzip: " << compressed);
    const Bytes img = compressed ? gzip(images) : images, lab = compressed ? gzip(labels) : labels;
    check_images(read_idx_images(img, "images"), 3, 2, 3);
    CHECK(read_idx_labels(lab, "labels") == std::vector<int>{7, 0, 9});
    const ImageDataset set = read_idx(img, "images", lab, "labels");
    CHECK(set.size() == 3);
    CHECK(set.num_classes() == 10);
    CHECK(set.label(2) == 9);
  }
  // (N, C, rows, cols) files keep their channels.
  Bytes four = idx_header({2, 3, 1, 2});
  for (int k = 0; k < 12; ++k) four.push_back(std::byte(k));
  CHECK(read_idx_images(four, "four").shape() == Shape{2, 3, 1, 2});
  // An empty set is a set.
  CHECK(read_idx_images(idx_header({0, 28, 28}), "empty").shape() == Shape{0, 1, 28, 28});
  // Fewer classes than labels need.
  CHECK(read_idx_labels(idx_labels({0, 1, 2}), "l", 3).size() == 3);
}

TEST_CASE("A gzip file of several members reads as their concatenation", "[idx]") {
  const Bytes images = idx_images(4, 5, 5);
  const Bytes head(images.begin(), images.begin() + 10), tail(images.begin() + 10, images.end());
  check_images(read_idx_images(concat(gzip(head), gzip(tail)), "multi"), 4, 5, 5);
}

TEST_CASE("Malformed IDX headers are rejected with the file and byte offset", "[idx]") {
  const Bytes images = idx_images(3, 2, 3);
  const auto images_error = [](const Bytes& b) {
    return error_text<io_error>([&] { read_idx_images(b, "images.idx"); });
  };

  Bytes magic = images;
  magic[0] = std::byte{1};
  CHECK(images_error(magic) == "images.idx: byte 0: not an IDX file: the magic number starts with 1, 0 instead of 0, 0");
  Bytes type = images;
  type[2] = std::byte{0x0D};
  CHECK(images_error(type) == "images.idx: byte 2: element type 13 is not supported (only 8, unsigned byte)");
  CHECK(error_text<io_error>([] { read_idx_images(idx_labels({1, 2}), "labels.idx"); }) ==
        "labels.idx: byte 3: 1 dimensions, but image files have 3 or 4");
  CHECK(error_text<io_error>([&] { read_idx_labels(images, "images.idx"); }) ==
        "images.idx: byte 3: 3 dimensions, but label files have 1");
  CHECK(images_error(Bytes(images.begin(), images.begin() + 10)) ==
        "images.idx: byte 8: truncated: extent 1 of the IDX header: 4 bytes needed, 2 left");
  CHECK(images_error(Bytes(images.begin(), images.begin() + 3)) ==
        "images.idx: byte 0: truncated: the IDX magic number: 4 bytes needed, 3 left");
  CHECK(images_error({}) == "images.idx: byte 0: truncated: the IDX magic number: 4 bytes needed, 0 left");
  CHECK(images_error(idx_header({3, 0, 3})) == "images.idx: byte 8: extent 1 is zero");
}

TEST_CASE("Truncated, overlong and inconsistent IDX data is rejected", "[idx]") {
  const Bytes images = idx_images(3, 2, 3);
  const Bytes short_images(images.begin(), images.end() - 1);
  CHECK(error_text<io_error>([&] { read_idx_images(short_images, "images.idx"); }) ==
        "images.idx: byte 16: truncated: the pixel data of [3, 1, 2, 3]: 18 bytes needed, 17 left");
  CHECK(error_text<io_error>([&] { read_idx_images(gzip(short_images), "images.idx.gz"); }) ==
        "images.idx.gz: byte 16 of the decompressed data: truncated: the pixel data of [3, 1, 2, 3]: 18 bytes needed, 17 left");
  Bytes long_images = images;
  long_images.push_back(std::byte{0});
  CHECK(error_text<io_error>([&] { read_idx_images(long_images, "images.idx"); }) ==
        "images.idx: byte 34: unexpected data after the pixel data");
  CHECK(error_text<io_error>([&] { read_idx_images(gzip(long_images), "images.idx.gz"); }) ==
        "images.idx.gz: byte 34 of the decompressed data: unexpected data after the pixel data");

  CHECK(error_text<io_error>([] { read_idx_labels(idx_labels({1, 10, 2}), "labels.idx"); }) ==
        "labels.idx: byte 9: label 10 outside [0, 10)");
  CHECK(error_text<io_error>([] { read_idx_labels(idx_labels({0, 3}), "labels.idx", 3); }) ==
        "labels.idx: byte 9: label 3 outside [0, 3)");
  CHECK(error_text<argument_error>([] { read_idx_labels(idx_labels({0}), "labels.idx", 0); }) ==
        "read_idx_labels: num_classes must be in [1, 256], got 0");

  // Image count != label count: named in the image file's count field.
  CHECK(error_text<io_error>([&] { read_idx(images, "images.idx", idx_labels({1, 2}), "labels.idx"); }) ==
        "images.idx: byte 4: 3 images, but labels.idx has 2 labels");
}

TEST_CASE("Huge claimed sizes fail before anything of that size is allocated", "[idx]") {
  // 2^32 - 1 images of 28 x 28 would be 3.4e12 bytes: over the limit at the last extent.
  CHECK(error_text<io_error>([] { read_idx_images(idx_header({0xFFFFFFFFu, 28, 28}), "big.idx"); }) ==
        "big.idx: byte 12: the header's extents claim more than 1099511627776 bytes of data");
  CHECK(error_text<io_error>([] { read_idx_images(idx_header({0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}), "big.idx"); }) ==
        "big.idx: byte 8: the header's extents claim more than 1099511627776 bytes of data");
  // 10^9 images of 28 x 28 (7.8e11 bytes, under the limit) with no data behind the header,
  // plain and compressed: the missing data is noticed without allocating.
  const Bytes claim = idx_header({1000000000u, 28, 28});
  CHECK(error_text<io_error>([&] { read_idx_images(claim, "big.idx"); }) ==
        "big.idx: byte 16: truncated: the pixel data of [1000000000, 1, 28, 28]: 784000000000 bytes needed, 0 left");
  Bytes claim_some = claim;
  claim_some.resize(claim.size() + 100000, std::byte{3});
  CHECK(error_text<io_error>([&] { read_idx_images(gzip(claim_some), "big.idx.gz"); }) ==
        "big.idx.gz: byte 16 of the decompressed data: truncated: the pixel data of [1000000000, 1, 28, 28]: "
        "784000000000 bytes needed, 100000 left");
  CHECK(error_text<io_error>([] { read_idx_labels(idx_header({4000000000u}), "big-labels.idx"); }) ==
        "big-labels.idx: byte 8: truncated: the labels: 4000000000 bytes needed, 0 left");
}

TEST_CASE("Corrupt gzip data is rejected with its compressed byte offset", "[idx]") {
  const Bytes gz = gzip(idx_images(20, 10, 10));
  // Cut short: the compressed data ends before the gzip trailer.
  const Bytes cut(gz.begin(), gz.end() - 10);
  CHECK(error_text<io_error>([&] { read_idx_images(cut, "images.gz"); }) ==
        "images.gz: byte " + std::to_string(cut.size()) + " of the compressed file: gzip data ends early (truncated file)");
  // A wrong CRC-32 in the trailer.
  Bytes crc = gz;
  crc[crc.size() - 8] ^= std::byte{0xFF};
  CHECK_THAT(error_text<io_error>([&] { read_idx_images(crc, "images.gz"); }),
             Catch::StartsWith("images.gz: byte ") &&
                 Catch::EndsWith(" of the compressed file: corrupt gzip data (zlib: incorrect data check)"));
  // Garbage after the last member.
  const Bytes trailing = concat(gz, text_bytes("xyz"));
  CHECK(error_text<io_error>([&] { read_idx_images(trailing, "images.gz"); }) ==
        "images.gz: byte " + std::to_string(gz.size()) + " of the compressed file: unexpected bytes after the end of the gzip data");
  // Damaged deflate data: some io_error naming the file, never a crash.
  for (std::size_t at = 10; at + 8 < gz.size(); at += 7) {
    Bytes bad = gz;
    bad[at] ^= std::byte{0x5A};
    try {
      (void)read_idx_images(bad, "images.gz");
    } catch (const io_error& e) {
      CHECK_THAT(e.what(), Catch::StartsWith("images.gz: byte "));
    }
  }
}

TEST_CASE("IDX files load from disk, gzip or plain, and name the file in errors", "[idx]") {
  const auto images_gz = write_idx_temp("images.gz", gzip(idx_images(3, 2, 3)));
  const auto labels_plain = write_idx_temp("labels", idx_labels({4, 5, 6}));
  const ImageDataset set = load_idx(images_gz, labels_plain);
  check_images(Tensor<std::uint8_t>::from_view(set.inputs()), 3, 2, 3);
  CHECK(std::vector<int>(set.labels().begin(), set.labels().end()) == std::vector<int>{4, 5, 6});

  const auto labels_short = write_idx_temp("labels-short", idx_labels({4, 5}));
  CHECK(error_text<io_error>([&] { load_idx(images_gz, labels_short); }) ==
        images_gz.string() + ": byte 4 of the decompressed data: 3 images, but " + labels_short.string() +
            " has 2 labels");
  const auto missing = images_gz.parent_path() / "no-such-file";
  CHECK(error_text<io_error>([&] { load_idx(images_gz, missing); }) == missing.string() + ": no such file");
  CHECK(error_text<io_error>([&] { load_idx(images_gz, images_gz.parent_path()); }) ==
        images_gz.parent_path().string() + ": not a regular file");
}
