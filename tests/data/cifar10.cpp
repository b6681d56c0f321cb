#include "farbound/data/cifar10.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/bytes.hpp"

using namespace farbound;
using namespace farbound::test;

namespace {

// Record r of cifar_records(): label r mod 10, pixel k = (r + k) mod 256, in (C, H, W) order.
void check_records(const ImageDataset& set, int first_record, int n) {
  REQUIRE(set.shape() == Shape{n, 3, 32, 32});
  CHECK(set.num_classes() == 10);
  for (int i = 0; i < n; ++i) {
    const int r = first_record + i;
    REQUIRE(set.label(i) == r % 10);
    for (int k = 0; k < 3072; ++k) REQUIRE(set.inputs()[std::int64_t(i) * 3072 + k] == std::uint8_t((r + k) % 256));
  }
}

}  // namespace

TEST_CASE("CIFAR-10 batches read plain and gzip-compressed", "[cifar10]") {
  const Bytes records = cifar_records(3);
  check_records(read_cifar10(records, "batch.bin"), 0, 3);
  check_records(read_cifar10(gzip(records), "batch.bin.gz"), 0, 3);
  // Channel 0 is red: pixel (c, y, x) is byte 1 + c * 1024 + y * 32 + x of the record.
  const ImageDataset one = read_cifar10(cifar_records(1), "one");
  CHECK(one.inputs()[1 * 1024 + 2 * 32 + 5] == std::uint8_t((1024 + 64 + 5) % 256));
}

TEST_CASE("Malformed CIFAR-10 batches are rejected with the file and byte offset", "[cifar10]") {
  const auto error = [](const Bytes& b, const std::string& name) {
    return error_text<io_error>([&] { read_cifar10(b, name); });
  };
  CHECK(error({}, "c.bin") == "c.bin: byte 0: empty: a CIFAR-10 batch holds at least one 3073-byte record");
  Bytes partial = cifar_records(2);
  partial.resize(partial.size() + 100, std::byte{1});
  CHECK(error(partial, "c.bin") ==
        "c.bin: byte 6146: truncated record: 100 bytes after the last whole record (records are 3073 bytes)");
  CHECK(error(gzip(partial), "c.bin.gz") == "c.bin.gz: byte 6146 of the decompressed data: truncated record: 100 "
                                            "bytes after the last whole record (records are 3073 bytes)");
  Bytes bad_label = cifar_records(3);
  bad_label[3073] = std::byte{10};
  CHECK(error(bad_label, "c.bin") == "c.bin: byte 3073: label 10 of record 1 outside [0, 10)");
  CHECK(error(gzip(bad_label), "c.bin.gz") ==
        "c.bin.gz: byte 3073 of the decompressed data: label 10 of record 1 outside [0, 10)");
  // A gzip header and nothing else.
  const Bytes gz = gzip(cifar_records(1));
  CHECK(error(Bytes(gz.begin(), gz.begin() + 12), "c.gz") ==
        "c.gz: byte 12 of the compressed file: gzip data ends early (truncated file)");
}

TEST_CASE("CIFAR-10 batch files load and concatenate in order", "[cifar10]") {
  const auto dir = std::filesystem::temp_directory_path() / "farbound_test_cifar10";
  // Five training batches of 2, 1, 1, 1, 1 records numbered on from each other, gzip for one.
  const Bytes all = cifar_records(6);
  const auto part = [&](int first, int n) {
    return Bytes(all.begin() + first * 3073, all.begin() + (first + n) * 3073);
  };
  write_file(dir / "data_batch_1.bin", part(0, 2));
  write_file(dir / "data_batch_2.bin", gzip(part(2, 1)));
  for (int b = 3; b <= 5; ++b) write_file(dir / ("data_batch_" + std::to_string(b) + ".bin"), part(b, 1));
  write_file(dir / "test_batch.bin", cifar_records(4));
  check_records(load_cifar10_dir(dir, DataPart::train), 0, 6);
  check_records(load_cifar10_dir(dir, DataPart::test), 0, 4);

  std::filesystem::remove(dir / "data_batch_4.bin");
  CHECK(error_text<io_error>([&] { load_cifar10_dir(dir, DataPart::train); }) ==
        (dir / "data_batch_4.bin").string() + ": no such file");
}
