#include "farbound/io/npy.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace farbound;
using Catch::Contains;

namespace {

// An .npy image by hand: magic, version major.0, the header length field (2 bytes for
// version 1, 4 bytes otherwise), the dict text as given (no padding added), then `data`.
std::vector<std::byte> npy_image(int major, const std::string& dict, const std::vector<std::uint8_t>& data = {}) {
  std::string s = "\x93NUMPY";
  s += static_cast<char>(major);
  s += '\0';
  const std::size_t len_bytes = major == 1 ? 2 : 4;
  for (std::size_t i = 0; i < len_bytes; ++i) s += static_cast<char>((dict.size() >> (8 * i)) & 0xff);
  s += dict;
  std::vector<std::byte> out(s.size() + data.size());
  std::memcpy(out.data(), s.data(), s.size());
  if (!data.empty()) std::memcpy(out.data() + s.size(), data.data(), data.size());
  return out;
}

template <class V>
std::vector<std::uint8_t> bytes_of(const std::vector<V>& values) {
  std::vector<std::uint8_t> out(values.size() * sizeof(V));
  if (!values.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

std::string dict(const std::string& descr, const std::string& shape, const std::string& order = "False") {
  return "{'descr': '" + descr + "', 'fortran_order': " + order + ", 'shape': " + shape + ", }";
}

std::filesystem::path temp_file(const std::string& stem) { return std::filesystem::temp_directory_path() / ("farbound_test_" + stem + ".npy"); }

void write_file(const std::filesystem::path& path, const std::vector<std::byte>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// A parse of `image` from memory and from a file both fail with an io_error containing
// every one of `parts`, and the file's message names the file.
void check_rejected(const std::vector<std::byte>& image, const std::vector<std::string>& parts) {
  const auto path = temp_file("malformed");
  write_file(path, image);
  for (const std::string& p : parts) {
    INFO("expected message part: " << p);
    CHECK_THROWS_WITH(parse_npy(image, "mem.npy"), Contains("mem.npy") && Contains(p));
    CHECK_THROWS_WITH(read_npy<float>(path), Contains(path.string()) && Contains(p));
    CHECK_THROWS_AS(read_npy_raw(path), io_error);
  }
  std::filesystem::remove(path);
}

}  // namespace

TEST_CASE("write_npy writes what numpy 1.24 writes, byte for byte", "[npy]") {
  // np.save of np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32) under numpy 1.24.2: a
  // 118-byte header (dict, 58 spaces, '\n') and the data at byte 128.
  Tensor<float> t({2, 3});
  for (int i = 0; i < 6; ++i) t[i] = float(i + 1);
  std::string want = std::string("\x93NUMPY\x01\x00\x76\x00", 10) + "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" +
                     std::string(58, ' ') + "\n";
  const auto got = encode_npy<float>(t.view());
  REQUIRE(got.size() == 128 + 24);
  CHECK(std::string(reinterpret_cast<const char*>(got.data()), 128) == want);
  CHECK(std::memcmp(got.data() + 128, t.data(), 24) == 0);
  // np.save of np.array([255, 0, 1], dtype=np.uint8) and of np.array(7.5): same 128-byte header layout.
  CHECK(npy_header(NpyDtype::uint8, Shape{3}) == std::string("\x93NUMPY\x01\x00\x76\x00", 10) +
                                                     "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }" +
                                                     std::string(60, ' ') + "\n");
  CHECK(npy_header(NpyDtype::float64, Shape{}) == std::string("\x93NUMPY\x01\x00\x76\x00", 10) +
                                                      "{'descr': '<f8', 'fortran_order': False, 'shape': (), }" +
                                                      std::string(62, ' ') + "\n");
}

TEMPLATE_TEST_CASE("npy round trip keeps shape and values", "[npy]", float, double, std::uint8_t) {
  const auto path = temp_file("roundtrip");
  for (const Shape& shape : {Shape{}, Shape{0, 3}, Shape{5}, Shape{3, 7}, Shape{2, 3, 4, 5}}) {
    INFO("shape " << shape.to_string());
    Tensor<TestType> t(shape);
    for (std::int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<TestType>((i * 37) % 251) / TestType(std::is_integral_v<TestType> ? 1 : 4);
    write_npy(path, t);
    const Tensor<TestType> back = read_npy<TestType>(path);
    CHECK(back.shape() == shape);
    for (std::int64_t i = 0; i < t.numel(); ++i) CHECK(back[i] == t[i]);
    const NpyHeader h = read_npy_header(path);
    CHECK(h.data_offset % 64 == 0);
    CHECK(h.dtype == npy_dtype_of<TestType>());

    const auto image = encode_npy<TestType>(t.view());
    const NpyView v = parse_npy(image, "mem");
    CHECK(v.shape == shape);
    const Tensor<double> as_double = v.to_tensor<double>();
    for (std::int64_t i = 0; i < t.numel(); ++i) CHECK(as_double[i] == static_cast<double>(t[i]));
    const NpyArray raw = read_npy_raw(path);
    CHECK(raw.data.size() == static_cast<std::size_t>(t.numel()) * sizeof(TestType));
    CHECK(raw.to_tensor<double>().numel() == t.numel());
  }
  CHECK_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  std::filesystem::remove(path);
}

TEST_CASE("hand-written npy files of every version and dtype read correctly", "[npy]") {
  SECTION("version 1.0, <f8, converted to float") {
    const auto image = npy_image(1, dict("<f8", "(3,)") + "\n", bytes_of(std::vector<double>{1.5, -2.0, 0.25}));
    const auto t = parse_npy(image, "a").to_tensor<float>();
    CHECK(t.shape() == Shape{3});
    CHECK(t[0] == 1.5f);
    CHECK(t[1] == -2.0f);
    CHECK(t[2] == 0.25f);
  }
  SECTION("version 2.0, |u1, read as uint8 and as float (unscaled)") {
    const auto image = npy_image(2, dict("|u1", "(2, 2)"), {0, 1, 254, 255});
    const NpyView v = parse_npy(image, "b");
    CHECK(v.dtype == NpyDtype::uint8);
    CHECK(v.shape == Shape{2, 2});
    CHECK(v.to_tensor<std::uint8_t>()[3] == 255);
    CHECK(v.to_tensor<float>()[2] == 254.0f);
  }
  SECTION("version 3.0, <f4, double quotes, keys in another order, no trailing comma, Python 2 longs") {
    const auto image = npy_image(3, "{ \"shape\" : (1L, 2L, 1L, 1L) , \"fortran_order\":False,\"descr\":\"<f4\"}  \n",
                                 bytes_of(std::vector<float>{3.0f, -4.5f}));
    const auto t = parse_npy(image, "c").to_tensor<double>();
    CHECK(t.shape() == Shape{1, 2, 1, 1});
    CHECK(t[1] == -4.5);
  }
  SECTION("a scalar and an empty array") {
    CHECK(parse_npy(npy_image(1, dict("<f8", "()"), bytes_of(std::vector<double>{7.5})), "d").to_tensor<double>()[0] == 7.5);
    CHECK(parse_npy(npy_image(1, dict("<f4", "(0, 5)")), "e").to_tensor<float>().shape() == Shape{0, 5});
  }
  SECTION("floating-point data is never read into an integer tensor") {
    const auto image = npy_image(1, dict("<f4", "(1,)"), bytes_of(std::vector<float>{1e30f}));
    CHECK_THROWS_WITH(parse_npy(image, "f").to_tensor<std::uint8_t>(), Contains("<f4") && Contains("integer"));
  }
}

TEST_CASE("every truncation of a valid npy file is an io_error", "[npy][errors]") {
  const auto full = npy_image(1, dict("<f4", "(2, 3)") + "    \n", bytes_of(std::vector<float>{1, 2, 3, 4, 5, 6}));
  for (std::size_t n = 0; n < full.size(); ++n) {
    INFO("first " << n << " bytes");
    const std::vector<std::byte> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK_THROWS_AS(parse_npy(cut, "cut"), io_error);
  }
  CHECK(parse_npy(full, "full").shape == Shape{2, 3});
  check_rejected({}, {"byte 0", "file ends inside the magic string"});
  check_rejected(std::vector<std::byte>(full.begin(), full.begin() + 7), {"byte 7", "format version"});
  check_rejected(std::vector<std::byte>(full.begin(), full.begin() + 9), {"byte 9", "header length"});
  check_rejected(std::vector<std::byte>(full.begin(), full.begin() + 40), {"byte 8", "runs past the end of the 40-byte file"});
  check_rejected(std::vector<std::byte>(full.end() - 8, full.end()), {"byte 0", "wrong magic"});
  const std::size_t data_at = full.size() - 24;
  check_rejected(std::vector<std::byte>(full.begin(), full.end() - 1),
                 {"byte " + std::to_string(full.size() - 1), "file ends after 23 data bytes", "shape [2, 3] of <f4 needs 24 data bytes"});
  auto longer = full;
  longer.push_back(std::byte{0});
  check_rejected(longer, {"byte " + std::to_string(data_at + 24), "1 bytes after the data"});
}

TEST_CASE("a wrong magic string or version is an io_error at its offset", "[npy][errors]") {
  auto image = npy_image(1, dict("<f4", "(1,)"), {0, 0, 0, 0});
  image[5] = std::byte{'Z'};
  check_rejected(image, {"byte 5", "wrong magic"});
  check_rejected(npy_image(4, dict("<f4", "(1,)"), {0, 0, 0, 0}), {"byte 6", "version 4.0"});
  image = npy_image(1, dict("<f4", "(1,)"), {0, 0, 0, 0});
  image[7] = std::byte{1};
  check_rejected(image, {"byte 6", "version 1.1"});
}

TEST_CASE("a malformed header dict is an io_error at the offending byte", "[npy][errors]") {
  const std::uint64_t at = 10;  // the dict of a version 1.0 file starts at byte 10
  const auto off = [&](std::size_t i) { return "byte " + std::to_string(at + i); };
  check_rejected(npy_image(1, "['descr', '<f4']"), {off(0), "must be a dict"});
  check_rejected(npy_image(1, "{'descr': '<f4', 'shape': (1,)}", {0, 0, 0, 0}), {"lacks the key 'fortran_order'"});
  check_rejected(npy_image(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", {0, 0, 0, 0}),
                 {off(17), "duplicate key 'descr'"});
  check_rejected(npy_image(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", {0, 0, 0, 0}),
                 {off(56), "unexpected key 'extra'"});
  check_rejected(npy_image(1, dict("<f4", "(3)")), {off(50), "one-axis shape is written (n,)"});
  check_rejected(npy_image(1, dict("<f4", "[3]")), {off(50), "shape must be a tuple"});
  check_rejected(npy_image(1, dict("<f4", "(-3,)")), {off(51), "non-negative integer"});
  check_rejected(npy_image(1, dict("<f4", "(1, 1, 1, 1, 1)")), {off(63), "more than 4 axes"});
  check_rejected(npy_image(1, dict("<f4", "(1,)", "false")), {"True or False"});
  check_rejected(npy_image(1, "{'descr' '<f4'}"), {off(9), "expected ':'"});
  check_rejected(npy_image(1, "{'descr': '<f4"), {off(10), "unterminated string"});
  check_rejected(npy_image(1, "{'descr': '<\x01" "f4'}"), {off(12), "unsupported character"});
  check_rejected(npy_image(1, dict("<f4", "(1,)") + " x", {0, 0, 0, 0}), {"unexpected characters after the header dict"});
  check_rejected(npy_image(1, "{'descr': '<f4' 'shape': (1,)}"), {"expected ',' or '}'"});
  check_rejected(npy_image(1, "{'descr': '<f4', "), {off(17), "expected a quoted string, at the end of the header"});
}

TEST_CASE("unsupported dtypes and Fortran order are io_errors naming them", "[npy][errors]") {
  for (const std::string descr : {"<i4", ">f4", "<f2", "|b1", "<c8", "O"}) {
    INFO(descr);
    check_rejected(npy_image(1, dict(descr, "(1,)"), {0, 0, 0, 0, 0, 0, 0, 0}), {"byte 20", "unsupported dtype '" + descr + "'"});
  }
  check_rejected(npy_image(1, dict("<f4", "(2,)", "True"), {0, 0, 0, 0, 0, 0, 0, 0}), {"byte 44", "fortran_order is True"});
}

TEST_CASE("huge shapes fail on the size check, before any allocation", "[npy][errors]") {
  // 10^12 uint8 elements claimed by a 100-byte file.
  check_rejected(npy_image(1, dict("|u1", "(1000000, 1000000)")),
                 {"file ends after 0 data bytes", "needs 1000000000000 data bytes"});
  check_rejected(npy_image(1, dict("<f8", "(1000000, 1000000)"), {1, 2, 3}), {"file ends after 3 data bytes"});
  // Element counts beyond 2^40, and extents whose digits would overflow 64 bits.
  check_rejected(npy_image(1, dict("<f4", "(1048576, 1048576, 2)")), {"byte 60", "overflows the limit of 2^40"});
  check_rejected(npy_image(1, dict("<f4", "(4294967296, 4294967296, 4294967296, 4294967296)")), {"overflows"});
  check_rejected(npy_image(1, dict("<f4", "(99999999999999999999999999,)")), {"byte 61", "extent exceeds the limit"});
  check_rejected(npy_image(1, dict("<f4", "(0, 1099511627777)")), {"extent exceeds the limit"});
  // A zero extent makes any other extent harmless.
  CHECK(parse_npy(npy_image(1, dict("<f4", "(0, 1099511627776)")), "z").shape.numel() == 0);
  // A version 2.0 header length of 4 GiB, and one just over the 1 MiB limit.
  auto image = npy_image(2, dict("<f4", "(1,)"));
  for (int i = 8; i < 12; ++i) image[static_cast<std::size_t>(i)] = std::byte{0xff};
  check_rejected(image, {"byte 8", "header length 4294967295 exceeds the limit"});
}

TEST_CASE("missing files, directories and unwritable paths are io_errors", "[npy][errors]") {
  CHECK_THROWS_WITH(read_npy<float>("/nonexistent/farbound.npy"), Contains("/nonexistent/farbound.npy"));
  CHECK_THROWS_AS(read_npy_raw(std::filesystem::temp_directory_path()), io_error);
  Tensor<float> t({2}, 1.0f);
  CHECK_THROWS_WITH(write_npy("/nonexistent/dir/out.npy", t), Contains("/nonexistent/dir/out.npy"));
}
