#pragma once
// NumPy .npy files (format versions 1.0, 2.0 and 3.0) of uint8, float32 or float64 arrays
// in C order with up to four axes: numpy's np.save / np.load format.
//
// Layout (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
//   bytes 0-5   magic "\x93NUMPY"
//   bytes 6-7   major, minor version (1.0, 2.0 or 3.0)
//   then        header length n: uint16 little-endian (1.0) or uint32 (2.0, 3.0)
//   then        n bytes: a Python dict literal, e.g.
//               {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
//               padded with spaces and '\n' so the data starts 64-byte aligned
//   then        the elements, row-major, little-endian.
//
// Reading validates everything before touching data: anything malformed is an io_error
// naming the file and the byte offset of the problem. Nothing is read past the end, and
// nothing is allocated before the file's size is known to hold it (a header that claims
// 10^12 elements in a 100-byte file fails on the size check, not on the allocation).
// Conversion on reading: uint8 -> any tensor type (values 0..255, unscaled); float32 and
// float64 -> float or double tensors. Floating-point data never goes into an integer tensor.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/core/shape.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/io/detail/npy_header.hpp"

namespace farbound {

// A parsed .npy image whose elements lie in someone else's buffer.
struct NpyView {
  // Element type.
  NpyDtype dtype = NpyDtype::float32;
  // Extents.
  Shape shape;
  std::span<const std::byte> data;  // numel * item size bytes, little-endian, any alignment
  std::string name;                 // for messages

  // The elements converted to T (see the top of this file for what converts).
  template <class T>
  Tensor<T> to_tensor() const {
    detail::npy_check_convertible<T>(dtype, name);
    Tensor<T> t(shape);
    detail::npy_convert(dtype, data.data(), t.data(), static_cast<std::size_t>(t.numel()));
    return t;
  }
};

// An .npy array with its own bytes.
struct NpyArray {
  // Element type.
  NpyDtype dtype = NpyDtype::float32;
  // Extents.
  Shape shape;
  // The elements as stored.
  std::vector<std::byte> data;
  // Where it came from, for messages.
  std::string name;

  // A view of the array's elements as stored.
  NpyView view() const { return {dtype, shape, data, name}; }
  // The array's elements as a tensor of T (NpyView::to_tensor).
  template <class T>
  Tensor<T> to_tensor() const {
    return view().to_tensor<T>();
  }
};

// Parses an .npy image held in memory (`name` labels the messages). The view points into `bytes`.
inline NpyView parse_npy(std::span<const std::byte> bytes, const std::string& name) {
  const NpyHeader h = detail::parse_npy_header(bytes, bytes.size(), name);
  return {h.dtype, h.shape, bytes.subspan(h.data_offset, h.data_bytes), name};
}

namespace detail {

// An open .npy file whose header has been read and checked against the file size.
struct NpyFile {
  std::ifstream in;
  NpyHeader header;
  std::string name;

  explicit NpyFile(const std::filesystem::path& path) : in(path, std::ios::binary), name(path.string()) {
    if (!in) throw io_error(name + ": cannot open for reading");
    std::error_code ec;
    const std::uint64_t size = std::filesystem::file_size(path, ec);
    if (ec) throw io_error(name + ": cannot read the file size: " + ec.message());
    // The preamble first, to learn the header length; then the rest of the header, which
    // the preamble check has already bounded by the file size.
    std::vector<std::byte> prefix(static_cast<std::size_t>(std::min<std::uint64_t>(size, npy_max_preamble)));
    read(prefix.data(), prefix.size(), 0);
    const NpyPreamble pre = parse_npy_preamble(prefix, size, name);
    const std::size_t have = prefix.size(), need = static_cast<std::size_t>(pre.header_begin + pre.header_length);
    if (need > have) {
      prefix.resize(need);
      read(prefix.data() + have, need - have, have);
    }
    header = parse_npy_header(prefix, size, name);
  }

  // Reads the n bytes that start at byte `offset`.
  void read(std::byte* dst, std::size_t n, std::uint64_t offset) {
    if (n == 0) return;
    in.clear();
    if (!in.seekg(static_cast<std::streamoff>(offset)) || !in.read(reinterpret_cast<char*>(dst), static_cast<std::streamsize>(n)))
      npy_fail(name, offset + static_cast<std::uint64_t>(std::max<std::streamsize>(in.gcount(), 0)), "read failed (file changed while reading?)");
  }
};

}  // namespace detail

// Reads the header of an .npy file only.
inline NpyHeader read_npy_header(const std::filesystem::path& path) { return detail::NpyFile(path).header; }

// Reads an .npy file as raw little-endian bytes plus dtype and shape.
inline NpyArray read_npy_raw(const std::filesystem::path& path) {
  detail::NpyFile f(path);
  NpyArray a{f.header.dtype, f.header.shape, std::vector<std::byte>(static_cast<std::size_t>(f.header.data_bytes)), f.name};
  f.read(a.data.data(), a.data.size(), f.header.data_offset);
  return a;
}

// Reads an .npy file into a tensor, converting the elements to T. Converting reads go
// through a small buffer, so a uint8 image set never exists twice in memory.
template <class T>
Tensor<T> read_npy(const std::filesystem::path& path) {
  detail::NpyFile f(path);
  detail::npy_check_convertible<T>(f.header.dtype, f.name);
  Tensor<T> t(f.header.shape);
  const std::size_t item = npy_item_size(f.header.dtype);
  if (f.header.dtype == npy_dtype_of<T>()) {
    f.read(reinterpret_cast<std::byte*>(t.data()), static_cast<std::size_t>(f.header.data_bytes), f.header.data_offset);
    return t;
  }
  constexpr std::size_t buffer_elements = 16384;
  std::vector<std::byte> buffer(buffer_elements * item);
  for (std::size_t done = 0, n = static_cast<std::size_t>(t.numel()); done < n;) {
    const std::size_t k = std::min(buffer_elements, n - done);
    f.read(buffer.data(), k * item, f.header.data_offset + done * item);
    detail::npy_convert(f.header.dtype, buffer.data(), t.data() + done, k);
    done += k;
  }
  return t;
}

// The version 1.0 header of an array of `dtype` and `shape`, byte for byte as numpy 1.24
// writes it: the dict, spaces that let the leading extent grow to 21 digits in place, then
// spaces and '\n' up to a multiple of 64 bytes, where the data starts.
inline std::string npy_header(NpyDtype dtype, const Shape& shape) {
  std::string dict = std::string("{'descr': '") + npy_descr(dtype) + "', 'fortran_order': False, 'shape': (";
  for (int i = 0; i < shape.rank(); ++i) dict += std::to_string(shape[i]) + (shape.rank() == 1 ? "," : i + 1 < shape.rank() ? ", " : "");
  dict += "), }";
  if (shape.rank() > 0) dict.append(21 - std::to_string(shape[0]).size(), ' ');
  const std::size_t unpadded = 10 + dict.size() + 1;  // preamble, dict, '\n'
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(dict.size() & 0xff);
  out += static_cast<char>(dict.size() >> 8);
  return out + dict;
}

// The whole .npy image of a tensor.
template <class T>
std::vector<std::byte> encode_npy(TensorView<const T> t) {
  const std::string header = npy_header(npy_dtype_of<T>(), t.shape());
  std::vector<std::byte> out(header.size() + static_cast<std::size_t>(t.numel()) * sizeof(T));
  std::memcpy(out.data(), header.data(), header.size());
  if (t.numel() > 0) std::memcpy(out.data() + header.size(), t.data(), static_cast<std::size_t>(t.numel()) * sizeof(T));
  return out;
}

// Writes a uint8, float or double tensor as .npy, atomically: to a temporary file renamed
// over `path`, so a crash never leaves a half-written file.
template <class T>
void write_npy(const std::filesystem::path& path, TensorView<const T> t) {
  const std::string header = npy_header(npy_dtype_of<T>(), t.shape());
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw io_error(tmp.string() + ": cannot open for writing");
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(reinterpret_cast<const char*>(t.data()), static_cast<std::streamsize>(static_cast<std::size_t>(t.numel()) * sizeof(T)));
    out.flush();
    if (!out) throw io_error(tmp.string() + ": write failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw io_error(path.string() + ": cannot replace with " + tmp.string() + ": " + ec.message());
}
// Writes `t` as a NumPy .npy file (little-endian, C order).
template <class T>
void write_npy(const std::filesystem::path& path, const Tensor<T>& t) {
  write_npy<T>(path, t.view());
}

}  // namespace farbound
