#pragma once
// ByteSource: the content of a data file, plain or gzip-compressed, read front to back
// with bounds checks. Every reader in data/ parses through it, so "never read past the
// end" and "never allocate for a size the file merely claims" hold in one place.
//
// Gzip is recognised by its magic bytes (1f 8b) and inflated incrementally with zlib. A
// gzip stream's decompressed size is unknown until it has been inflated (the trailer's
// ISIZE is only a claim, and only mod 2^32), so a reader that must allocate n bytes first
// calls require(n): that inflates the next n bytes into a small scratch buffer from a
// *copy* of the zlib state and throws unless they exist. Only then does the reader
// allocate and read() them for real. The large payload is inflated twice (about 0.1 s for
// Fashion-MNIST's training images), but the memory a file can make us allocate is bounded
// by the data it really holds, and the peak is one copy of it, not two.
//
// Offsets in messages count bytes of the content (decompressed, for gzip), so they point
// at the same field whichever way the file is stored.
#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <zlib.h>

#include "farbound/core/error.hpp"

namespace farbound::detail {

// Reads a whole file into memory (the stored bytes, compressed or not).
inline std::vector<std::byte> read_file_bytes(const std::filesystem::path& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) throw io_error(path.string() + ": no such file");
  if (!std::filesystem::is_regular_file(status)) throw io_error(path.string() + ": not a regular file");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw io_error(path.string() + ": cannot read the file size: " + ec.message());
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) throw io_error(path.string() + ": cannot open for reading: " + std::strerror(errno));
  std::vector<std::byte> bytes(size);
  const std::size_t got = size == 0 ? 0 : std::fread(bytes.data(), 1, size, file.get());
  if (got != size)
    throw io_error(path.string() + ": byte " + std::to_string(got) + ": read failed (file is " + std::to_string(size) +
                   " bytes)");
  return bytes;
}

// True when the bytes start with the gzip magic number.
inline bool is_gzip(std::span<const std::byte> bytes) {
  return bytes.size() >= 2 && bytes[0] == std::byte{0x1f} && bytes[1] == std::byte{0x8b};
}

// One zlib inflate state over an in-memory gzip image (RAII around inflateInit2/inflateEnd).
class GzipInflater {
 public:
  GzipInflater(std::span<const std::byte> compressed, const std::string& name) : in_(compressed), name_(&name) {
    // 16 + MAX_WBITS: expect a gzip header and trailer (and check the CRC-32).
    if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK) throw std::bad_alloc();
    set_input(0);
  }
  // A copy of `other` at its current position (inflateCopy), for look-ahead.
  GzipInflater(const GzipInflater& other) : in_(other.in_), name_(other.name_), ended_(other.ended_) {
    if (inflateCopy(&z_, const_cast<z_stream*>(&other.z_)) != Z_OK) throw std::bad_alloc();
  }
  GzipInflater& operator=(const GzipInflater&) = delete;
  ~GzipInflater() { inflateEnd(&z_); }

  // Inflates up to n bytes into dst; fewer only at the end of the content.
  std::uint64_t inflate_into(std::byte* dst, std::uint64_t n) {
    std::uint64_t produced = 0;
    while (produced < n && !ended_) {
      const auto want = static_cast<uInt>(std::min<std::uint64_t>(n - produced, UINT_MAX));
      z_.next_out = reinterpret_cast<Bytef*>(dst + produced);
      z_.avail_out = want;
      if (z_.avail_in == 0) set_input(consumed());
      const int rc = inflate(&z_, Z_NO_FLUSH);
      produced += want - z_.avail_out;
      if (rc == Z_STREAM_END) {
        end_of_member();
      } else if (rc == Z_BUF_ERROR) {
        // No progress possible although output space is left: the input is used up before
        // the gzip trailer.
        fail(consumed() == in_.size() ? "gzip data ends early (truncated file)" : "corrupt gzip data");
      } else if (rc != Z_OK) {
        fail(std::string("corrupt gzip data (zlib: ") + (z_.msg ? z_.msg : zError(rc)) + ")");
      }
    }
    return produced;
  }

  // Inflates and discards up to n bytes; returns how many existed.
  std::uint64_t skip(std::uint64_t n) {
    std::array<std::byte, 1 << 16> scratch;
    std::uint64_t done = 0;
    while (done < n) {
      const std::uint64_t want = std::min<std::uint64_t>(n - done, scratch.size());
      const std::uint64_t got = inflate_into(scratch.data(), want);
      done += got;
      if (got < want) break;
    }
    return done;
  }

 private:
  std::uint64_t consumed() const {
    return static_cast<std::uint64_t>(reinterpret_cast<const std::byte*>(z_.next_in) - in_.data());
  }
  void set_input(std::uint64_t pos) {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in_.data() + pos));
    z_.avail_in = static_cast<uInt>(std::min<std::uint64_t>(in_.size() - pos, UINT_MAX));
  }
  // A gzip file may hold several members back to back (gzip a b > c): the content is
  // their concatenation. Anything else after a member is an error.
  void end_of_member() {
    const std::uint64_t pos = consumed();
    if (pos == in_.size()) {
      ended_ = true;
      return;
    }
    if (!is_gzip(in_.subspan(pos))) fail("unexpected bytes after the end of the gzip data");
    if (inflateReset(&z_) != Z_OK) fail("cannot restart zlib for the next gzip member");
    set_input(pos);
  }
  [[noreturn]] void fail(const std::string& problem) const {
    throw io_error(*name_ + ": byte " + std::to_string(consumed()) + " of the compressed file: " + problem);
  }

  z_stream z_{};
  std::span<const std::byte> in_;
  const std::string* name_;
  bool ended_ = false;
};

class ByteSource {
 public:
  // `bytes` must outlive the source; `name` (a path, usually) goes into every message.
  ByteSource(std::span<const std::byte> bytes, std::string name) : bytes_(bytes), name_(std::move(name)) {
    if (is_gzip(bytes_)) gzip_.emplace(bytes_, name_);
  }
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;

  const std::string& name() const { return name_; }
  bool gzipped() const { return gzip_.has_value(); }
  // Bytes of content consumed so far.
  std::uint64_t offset() const { return offset_; }

  // Throws io_error "<name>: byte <at>: <problem>".
  [[noreturn]] void fail(std::uint64_t at, const std::string& problem) const {
    throw io_error(name_ + ": byte " + std::to_string(at) + (gzipped() ? " of the decompressed data" : "") + ": " +
                   problem);
  }

  // Copies the next n bytes into dst; io_error naming `what` when fewer remain.
  void read(std::byte* dst, std::uint64_t n, const std::string& what) {
    if (gzip_) {
      const std::uint64_t got = gzip_->inflate_into(dst, n);
      if (got < n) truncated(n, got, what);
    } else {
      if (n > bytes_.size() - offset_) truncated(n, bytes_.size() - offset_, what);
      if (n > 0) std::memcpy(dst, bytes_.data() + offset_, n);
    }
    offset_ += n;
  }
  void read(std::uint8_t* dst, std::uint64_t n, const std::string& what) {
    read(reinterpret_cast<std::byte*>(dst), n, what);
  }

  // Throws unless at least n more bytes exist; consumes nothing and allocates nothing
  // in proportion to n.
  void require(std::uint64_t n, const std::string& what) const {
    const std::uint64_t left = count_remaining(n);
    if (left < n) truncated(n, left, what);
  }

  // min(bytes left, limit + 1): enough to tell "exactly limit" from "more than limit".
  std::uint64_t count_remaining(std::uint64_t limit) const {
    const std::uint64_t capped = limit == UINT64_MAX ? limit : limit + 1;
    if (!gzip_) return std::min<std::uint64_t>(bytes_.size() - offset_, capped);
    GzipInflater look_ahead(*gzip_);
    return look_ahead.skip(capped);
  }

  // Throws unless the content ends here (for gzip this also checks the CRC trailer).
  void expect_end(const std::string& after) const {
    const std::uint64_t left = count_remaining(0);
    if (left > 0) fail(offset_, "unexpected data after " + after);
  }

  // The rest of the content as one contiguous span: the stored bytes themselves when
  // plain, else inflated into `storage`, which grows only as data arrives; io_error when
  // the content exceeds `limit` bytes.
  std::span<const std::byte> rest(std::vector<std::byte>& storage, std::uint64_t limit) {
    if (!gzip_) {
      const std::uint64_t left = bytes_.size() - offset_;
      if (left > limit) fail(offset_, "more than the limit of " + std::to_string(limit) + " bytes");
      offset_ = bytes_.size();
      return bytes_.subspan(bytes_.size() - left);
    }
    storage.clear();
    for (;;) {
      const std::uint64_t have = storage.size();
      const std::uint64_t want = std::max<std::uint64_t>(have, std::uint64_t(1) << 16);
      storage.resize(have + want);
      const std::uint64_t got = gzip_->inflate_into(storage.data() + have, want);
      storage.resize(have + got);
      if (storage.size() > limit) fail(offset_ + limit, "more than the limit of " + std::to_string(limit) + " bytes");
      if (got < want) break;
    }
    offset_ += storage.size();
    return storage;
  }

 private:
  [[noreturn]] void truncated(std::uint64_t need, std::uint64_t left, const std::string& what) const {
    fail(offset_, "truncated: " + what + ": " + std::to_string(need) + " bytes needed, " + std::to_string(left) +
                      " left");
  }

  std::span<const std::byte> bytes_;
  std::string name_;
  std::optional<GzipInflater> gzip_;
  std::uint64_t offset_ = 0;
};

}  // namespace farbound::detail
