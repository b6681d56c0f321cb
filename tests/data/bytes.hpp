#pragma once
// Hand-built file images for the reader tests: IDX, CIFAR-10 and CSV bytes, gzip
// compression through zlib, writing them to a file, and the text of an expected exception.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <zlib.h>

namespace farbound::test {

using Bytes = std::vector<std::byte>;

inline void append_be32(Bytes& b, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) b.push_back(std::byte(v >> shift));
}

// An IDX header: 0, 0, type 0x08, rank, extents.
inline Bytes idx_header(std::initializer_list<std::uint32_t> extents) {
  Bytes b{std::byte{0}, std::byte{0}, std::byte{0x08}, std::byte(extents.size())};
  for (auto e : extents) append_be32(b, e);
  return b;
}

// An IDX image file of n images of rows x cols whose pixel k (over the whole file) is k mod 251.
inline Bytes idx_images(std::uint32_t n, std::uint32_t rows, std::uint32_t cols) {
  Bytes b = idx_header({n, rows, cols});
  for (std::uint64_t k = 0; k < std::uint64_t(n) * rows * cols; ++k) b.push_back(std::byte(k % 251));
  return b;
}

inline Bytes idx_labels(const std::vector<int>& labels) {
  Bytes b = idx_header({std::uint32_t(labels.size())});
  for (int y : labels) b.push_back(std::byte(y));
  return b;
}

// `n` CIFAR-10 records: record r has label r mod 10 and pixel k = (r + k) mod 256.
inline Bytes cifar_records(int n) {
  Bytes b;
  for (int r = 0; r < n; ++r) {
    b.push_back(std::byte(r % 10));
    for (int k = 0; k < 3072; ++k) b.push_back(std::byte((r + k) % 256));
  }
  return b;
}

inline Bytes text_bytes(std::string_view s) {
  Bytes b(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) b[i] = std::byte(s[i]);
  return b;
}

// Gzip-compresses `in` (one gzip member, as gzip(1) writes it).
inline Bytes gzip(const Bytes& in) {
  z_stream z{};
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2");
  Bytes out(deflateBound(&z, uLong(in.size())) + 64);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
  z.avail_in = uInt(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate");
  return out;
}

// The message of the exception of type E that f() throws; "<no exception>" or
// "<other exception: ...>" otherwise, so that a CHECK on it shows what happened.
template <class E, class F>
std::string error_text(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("<other exception: ") + e.what() + ">";
  }
  return "<no exception>";
}

inline Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Writes bytes to path (creating its folder) and returns the path.
inline std::filesystem::path write_file(const std::filesystem::path& path, const Bytes& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  return path;
}

}  // namespace farbound::test
