#pragma once
// The .npy header: the element types farbound reads and writes, what a header says, and the
// strict parser behind read_npy (io/npy.hpp describes the format and the checks).
#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "farbound/core/error.hpp"
#include "farbound/core/shape.hpp"

namespace farbound {

static_assert(std::endian::native == std::endian::little, ".npy I/O assumes a little-endian host");

// The element types farbound reads and writes, with numpy's descr strings.
enum class NpyDtype : std::uint8_t { uint8, float32, float64 };

constexpr const char* npy_descr(NpyDtype d) {
  switch (d) {
    case NpyDtype::uint8: return "|u1";
    case NpyDtype::float32: return "<f4";
    default: return "<f8";
  }
}
constexpr std::size_t npy_item_size(NpyDtype d) { return d == NpyDtype::uint8 ? 1 : d == NpyDtype::float32 ? 4 : 8; }

template <class T>
constexpr NpyDtype npy_dtype_of() {
  static_assert(std::is_same_v<T, std::uint8_t> || std::is_same_v<T, float> || std::is_same_v<T, double>,
                ".npy holds uint8, float or double tensors");
  return std::is_same_v<T, std::uint8_t> ? NpyDtype::uint8 : std::is_same_v<T, float> ? NpyDtype::float32 : NpyDtype::float64;
}

// What an .npy header says, and where the data lies.
struct NpyHeader {
  NpyDtype dtype = NpyDtype::float32;
  Shape shape;
  std::uint64_t data_offset = 0;  // bytes before the first element
  std::uint64_t data_bytes = 0;   // numel * item size
};

namespace detail {

[[noreturn]] inline void npy_fail(const std::string& name, std::uint64_t offset, const std::string& what) {
  throw io_error(name + ": byte " + std::to_string(offset) + ": " + what);
}

// Converts `count` stored elements of type `dtype` at `src` (any alignment) into dst.
template <class T>
void npy_convert(NpyDtype dtype, const std::byte* src, T* dst, std::size_t count) {
  const auto convert = [&]<class Stored>(Stored) {
    if constexpr (std::is_same_v<Stored, T>) {
      if (count > 0) std::memcpy(dst, src, count * sizeof(T));
    } else {
      for (std::size_t i = 0; i < count; ++i) {
        Stored v;
        std::memcpy(&v, src + i * sizeof(Stored), sizeof(Stored));
        dst[i] = static_cast<T>(v);
      }
    }
  };
  switch (dtype) {
    case NpyDtype::uint8: convert(std::uint8_t{}); break;
    case NpyDtype::float32:
      if constexpr (std::is_floating_point_v<T>) convert(float{});
      break;
    case NpyDtype::float64:
      if constexpr (std::is_floating_point_v<T>) convert(double{});
      break;
  }
}

// Floating-point data cannot go into an integer tensor (the conversion would be undefined
// for out-of-range values).
template <class T>
void npy_check_convertible(NpyDtype dtype, const std::string& name) {
  if (std::is_integral_v<T> && dtype != NpyDtype::uint8)
    throw io_error(name + ": holds " + npy_descr(dtype) + " data, which cannot be read into an integer tensor");
}

// Largest element count accepted: the Tensor limit, 2^40.
inline constexpr std::uint64_t npy_max_elements = std::uint64_t(1) << 40;
// Largest header accepted. numpy's own headers for <= 4-D arrays are under 128 bytes; numpy
// refuses headers over 10000 bytes by default.
inline constexpr std::uint64_t npy_max_header = std::uint64_t(1) << 20;
// Bytes before the header dict: magic, version, header length (2 or 4 bytes).
inline constexpr std::size_t npy_max_preamble = 12;

// Where the header dict lies, from the first bytes of the file (at least min(12, size)).
struct NpyPreamble {
  std::uint64_t header_begin;
  std::uint64_t header_length;
};

inline NpyPreamble parse_npy_preamble(std::span<const std::byte> first, std::uint64_t file_size, const std::string& name) {
  constexpr std::string_view magic = "\x93NUMPY";
  const std::size_t n = std::min(first.size(), magic.size());
  // memcmp first: fuzzers see through it to the expected bytes.
  if (n > 0 && std::memcmp(first.data(), magic.data(), n) != 0) {
    std::size_t i = 0;
    while (static_cast<char>(first[i]) == magic[i]) ++i;
    npy_fail(name, i, "not an .npy file: wrong magic string");
  }
  if (n < magic.size()) npy_fail(name, n, "file ends inside the magic string (" + std::to_string(file_size) + " bytes)");
  if (first.size() < 8) npy_fail(name, first.size(), "file ends inside the format version");
  const unsigned major = std::to_integer<unsigned>(first[6]), minor = std::to_integer<unsigned>(first[7]);
  if (major < 1 || major > 3 || minor != 0)
    npy_fail(name, 6, "unsupported format version " + std::to_string(major) + "." + std::to_string(minor) + " (reads 1.0, 2.0, 3.0)");
  const std::size_t len_bytes = major == 1 ? 2 : 4;
  if (first.size() < 8 + len_bytes) npy_fail(name, first.size(), "file ends inside the header length");
  std::uint64_t len = 0;
  for (std::size_t i = 0; i < len_bytes; ++i) len |= std::uint64_t(std::to_integer<unsigned>(first[8 + i])) << (8 * i);
  const std::uint64_t begin = 8 + len_bytes;
  if (len > npy_max_header) npy_fail(name, 8, "header length " + std::to_string(len) + " exceeds the limit of 1 MiB");
  if (len > file_size - begin)
    npy_fail(name, 8, "header length " + std::to_string(len) + " runs past the end of the " + std::to_string(file_size) + "-byte file");
  return {begin, len};
}

// The header dict: a strict subset of Python literal syntax, the keys 'descr' (a string),
// 'fortran_order' (True/False) and 'shape' (a tuple of non-negative integers), each once.
class NpyDictParser {
 public:
  NpyDictParser(std::string_view text, std::uint64_t base, const std::string& name) : text_(text), base_(base), name_(name) {}

  // Parses the dict; returns the dtype and shape with data_offset and data_bytes filled in.
  NpyHeader parse() {
    NpyHeader h;
    h.data_offset = base_ + text_.size();
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{', "the header must be a dict starting with '{'");
    while (!eat('}')) {
      skip_space();
      const std::size_t key_pos = pos_;
      const std::string key = parse_string();
      expect(':', "expected ':' after a key");
      skip_space();
      const auto once = [&](bool& seen) {
        if (seen) fail_at(key_pos, "duplicate key '" + key + "'");
        seen = true;
      };
      if (key == "descr") {
        once(have_descr);
        h.dtype = parse_descr();
      } else if (key == "fortran_order") {
        once(have_order);
        const std::size_t at = pos_;
        if (parse_bool()) fail_at(at, "fortran_order is True: only C-order arrays are supported");
      } else if (key == "shape") {
        once(have_shape);
        h.shape = parse_shape();
      } else {
        fail_at(key_pos, "unexpected key '" + key + "' (expected descr, fortran_order, shape)");
      }
      if (!eat(',')) {
        expect('}', "expected ',' or '}' after a value");
        break;
      }
    }
    skip_space();
    if (pos_ != text_.size()) fail("unexpected characters after the header dict");
    if (!have_descr || !have_order || !have_shape)
      fail_at(0, std::string("the header lacks the key '") + (!have_descr ? "descr" : !have_order ? "fortran_order" : "shape") + "'");
    h.data_bytes = static_cast<std::uint64_t>(h.shape.numel()) * npy_item_size(h.dtype);
    return h;
  }

 private:
  [[noreturn]] void fail_at(std::size_t pos, const std::string& what) const { npy_fail(name_, base_ + pos, what); }
  [[noreturn]] void fail(const std::string& what) const {
    fail_at(pos_, pos_ < text_.size() ? what : what + ", at the end of the header");
  }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) ++pos_;
  }
  // Skips spaces, then consumes c if it comes next.
  bool eat(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c, const char* what) {
    if (!eat(c)) fail(what);
  }

  // 'text' or "text" of printable ASCII, without escapes.
  std::string parse_string() {
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) fail("expected a quoted string");
    const char quote = text_[pos_++];
    const std::size_t begin = pos_;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      const char c = text_[pos_];
      if (c < 0x20 || c > 0x7e || c == '\\') fail("unsupported character in a string");
      ++pos_;
    }
    if (pos_ == text_.size()) fail_at(begin - 1, "unterminated string");
    return std::string(text_.substr(begin, pos_++ - begin));
  }

  NpyDtype parse_descr() {
    const std::size_t at = pos_;
    const std::string d = parse_string();
    for (NpyDtype t : {NpyDtype::uint8, NpyDtype::float32, NpyDtype::float64})
      if (d == npy_descr(t)) return t;
    fail_at(at, "unsupported dtype '" + d + "' (reads |u1, <f4, <f8)");
  }

  bool parse_bool() {
    for (const std::string_view word : {std::string_view("True"), std::string_view("False")})
      if (text_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return word == "True";
      }
    fail("fortran_order must be True or False");
  }

  // A tuple of non-negative decimal integers: (), (n,), (n, m), ... of at most 4 extents.
  Shape parse_shape() {
    const std::size_t open = pos_;
    if (!eat('(')) fail("shape must be a tuple");
    std::array<std::int64_t, Shape::max_rank> extents{};
    int rank = 0;
    std::uint64_t count = 1;
    bool trailing_comma = false;
    while (!eat(')')) {
      skip_space();
      if (rank == Shape::max_rank) fail("shape has more than 4 axes");
      const std::uint64_t e = parse_extent();
      if (e != 0 && count > npy_max_elements / e)
        fail_at(open, "shape's element count overflows the limit of 2^40 elements");
      count *= e;
      extents[static_cast<std::size_t>(rank++)] = static_cast<std::int64_t>(e);
      trailing_comma = eat(',');
      if (!trailing_comma) {
        expect(')', "expected ',' or ')' in the shape");
        break;
      }
    }
    if (rank == 1 && !trailing_comma) fail_at(open, "shape (n) is not a tuple; a one-axis shape is written (n,)");
    switch (rank) {
      case 0: return Shape{};
      case 1: return Shape{extents[0]};
      case 2: return Shape{extents[0], extents[1]};
      case 3: return Shape{extents[0], extents[1], extents[2]};
      default: return Shape{extents[0], extents[1], extents[2], extents[3]};
    }
  }

  // Decimal digits, optionally followed by 'L' (Python 2 longs in old files).
  std::uint64_t parse_extent() {
    const std::size_t begin = pos_;
    std::uint64_t v = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      v = v * 10 + static_cast<std::uint64_t>(text_[pos_] - '0');
      if (v > npy_max_elements) fail_at(begin, "shape extent exceeds the limit of 2^40");
      ++pos_;
    }
    if (pos_ == begin) fail("expected a non-negative integer in the shape");
    if (pos_ < text_.size() && text_[pos_] == 'L') ++pos_;
    return v;
  }

  std::string_view text_;
  std::uint64_t base_;
  const std::string& name_;
  std::size_t pos_ = 0;
};

// The data must fill the rest of the file exactly.
inline void check_npy_data_size(const NpyHeader& h, std::uint64_t file_size, const std::string& name) {
  const std::uint64_t available = file_size - h.data_offset;
  const std::string claim = "the header's shape " + h.shape.to_string() + " of " + npy_descr(h.dtype) + " needs " +
                            std::to_string(h.data_bytes) + " data bytes";
  if (available < h.data_bytes) npy_fail(name, file_size, "file ends after " + std::to_string(available) + " data bytes; " + claim);
  if (available > h.data_bytes)
    npy_fail(name, h.data_offset + h.data_bytes, std::to_string(available - h.data_bytes) + " bytes after the data; " + claim);
}

// Preamble, dict and size checks over a buffer that holds at least the whole header.
inline NpyHeader parse_npy_header(std::span<const std::byte> prefix, std::uint64_t file_size, const std::string& name) {
  const NpyPreamble pre = parse_npy_preamble(prefix, file_size, name);
  const std::string_view text(reinterpret_cast<const char*>(prefix.data()) + pre.header_begin, pre.header_length);
  NpyHeader h = NpyDictParser(text, pre.header_begin, name).parse();
  check_npy_data_size(h, file_size, name);
  return h;
}

}  // namespace detail

}  // namespace farbound
