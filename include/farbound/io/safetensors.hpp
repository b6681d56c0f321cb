#pragma once
// safetensors files: named tensors plus string metadata, the format PyTorch and JAX users
// already read (https://github.com/huggingface/safetensors). Layout: an 8-byte little-endian
// header length n, n bytes of JSON {"name": {"dtype", "shape", "data_offsets": [begin, end]},
// "__metadata__": {string: string}}, then the raw little-endian data.
//
// farbound writes F32 (float tensors) or F64 (double tensors) and reads either into either.
// Reading validates everything before touching data: a malformed file is an io_error naming
// the file and byte offset, never a crash or an allocation the file does not back.
#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "farbound/core/error.hpp"
#include "farbound/core/tensor.hpp"

namespace farbound {

static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

// One tensor entry of a parsed file: where its bytes are, and what they are.
struct SafetensorsEntry {
  std::string dtype;  // "F32" or "F64"
  // Extents.
  Shape shape;
  // The stored bytes, inside the file's storage.
  std::span<const std::byte> bytes;
};

// A parsed file. Entries point into `storage` (or into the caller's buffer for parse_safetensors).
struct SafetensorsFile {
  SafetensorsFile() = default;
  // Movable, not copyable (it owns the file's bytes).
  SafetensorsFile(SafetensorsFile&&) noexcept = default;
  // Move assignment.
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept = default;
  SafetensorsFile(const SafetensorsFile&) = delete;  // entries point into storage
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  // The header's __metadata__ strings.
  std::map<std::string, std::string> metadata;
  // The tensors by name.
  std::map<std::string, SafetensorsEntry> tensors;
  // The file's bytes, which the entries point into.
  std::vector<std::byte> storage;
  std::string name;  // file name, for messages

  // The tensor called `key`, converted to T; io_error naming the key when absent.
  template <class T>
  Tensor<T> get(const std::string& key) const {
    const auto it = tensors.find(key);
    if (it == tensors.end()) throw io_error(name + ": no tensor named '" + key + "'");
    const SafetensorsEntry& e = it->second;
    Tensor<T> t(e.shape);
    if (e.dtype == "F32") copy_converted<float>(e.bytes, t);
    else copy_converted<double>(e.bytes, t);
    return t;
  }
  // Copies tensor `key` into `out`, which must already have the stored shape.
  template <class T>
  void load_into(const std::string& key, Tensor<T>& out) const {
    Tensor<T> t = get<T>(key);
    if (!(t.shape() == out.shape()))
      throw shape_error(name + ": tensor '" + key + "' has shape " + t.shape().to_string() + ", expected " +
                        out.shape().to_string());
    out = std::move(t);
  }

 private:
  template <class Stored, class T>
  static void copy_converted(std::span<const std::byte> bytes, Tensor<T>& t) {
    for (std::int64_t i = 0; i < t.numel(); ++i) {
      Stored v;
      std::memcpy(&v, bytes.data() + i * std::int64_t(sizeof(Stored)), sizeof(Stored));
      t[i] = T(v);
    }
  }
};

namespace detail {

template <class T>
constexpr const char* safetensors_dtype() {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "safetensors: float or double tensors");
  return std::is_same_v<T, float> ? "F32" : "F64";
}

[[noreturn]] inline void safetensors_fail(const std::string& name, std::uint64_t offset, const std::string& what) {
  throw io_error(name + ": byte " + std::to_string(offset) + ": " + what);
}

}  // namespace detail

// Parses a safetensors image held in memory. Entries point into `bytes`.
inline SafetensorsFile parse_safetensors(std::span<const std::byte> bytes, const std::string& name) {
  using detail::safetensors_fail;
  SafetensorsFile file;
  file.name = name;
  if (bytes.size() < 8) safetensors_fail(name, bytes.size(), "file too short for the 8-byte header length");
  std::uint64_t header_len;
  std::memcpy(&header_len, bytes.data(), 8);
  if (header_len > bytes.size() - 8)
    safetensors_fail(name, 0, "header length " + std::to_string(header_len) + " exceeds the file size " +
                                  std::to_string(bytes.size()));
  const auto* header_begin = reinterpret_cast<const char*>(bytes.data() + 8);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(header_begin, header_begin + header_len);
  } catch (const nlohmann::json::exception& e) {
    safetensors_fail(name, 8, std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) safetensors_fail(name, 8, "header is not a JSON object");
  const std::span<const std::byte> data = bytes.subspan(8 + header_len);
  const std::uint64_t data_start = 8 + header_len;

  for (const auto& item : header.items()) {
    const std::string& key = item.key();
    const nlohmann::json& value = item.value();
    if (key == "__metadata__") {
      if (!value.is_object()) safetensors_fail(name, 8, "__metadata__ is not an object");
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string()) safetensors_fail(name, 8, "metadata '" + mk + "' is not a string");
        file.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    const auto bad = [&](const std::string& what) { safetensors_fail(name, 8, "tensor '" + key + "': " + what); };
    if (!value.is_object() || !value.contains("dtype") || !value.contains("shape") || !value.contains("data_offsets"))
      bad("needs dtype, shape and data_offsets");
    const auto& dtype = value["dtype"];
    if (!dtype.is_string() || (dtype != "F32" && dtype != "F64")) bad("dtype must be F32 or F64");
    const auto& shape = value["shape"];
    if (!shape.is_array() || shape.size() > std::size_t(Shape::max_rank)) bad("shape must be an array of at most 4 extents");
    Shape s;
    std::uint64_t count = 1;
    {
      std::int64_t extents[Shape::max_rank] = {};
      for (std::size_t i = 0; i < shape.size(); ++i) {
        if (!shape[i].is_number_unsigned()) bad("shape extents must be non-negative integers");
        const auto e = shape[i].get<std::uint64_t>();
        if (e > (std::uint64_t(1) << 40) || (e != 0 && count > (std::uint64_t(1) << 40) / e)) bad("shape is too large");
        count *= e;
        extents[i] = std::int64_t(e);
      }
      switch (shape.size()) {
        case 0: s = Shape{}; break;
        case 1: s = Shape{extents[0]}; break;
        case 2: s = Shape{extents[0], extents[1]}; break;
        case 3: s = Shape{extents[0], extents[1], extents[2]}; break;
        default: s = Shape{extents[0], extents[1], extents[2], extents[3]}; break;
      }
    }
    const auto& offsets = value["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
      bad("data_offsets must be two non-negative integers");
    const auto begin = offsets[0].get<std::uint64_t>(), end = offsets[1].get<std::uint64_t>();
    const std::uint64_t elem = dtype == "F32" ? 4 : 8;
    if (begin > end || end > data.size())
      safetensors_fail(name, data_start + std::min<std::uint64_t>(begin, data.size()),
                       "tensor '" + key + "': data [" + std::to_string(begin) + ", " + std::to_string(end) +
                           ") lies outside the " + std::to_string(data.size()) + " data bytes");
    if (end - begin != count * elem)
      safetensors_fail(name, data_start + begin, "tensor '" + key + "': " + std::to_string(end - begin) +
                                                     " bytes for shape " + s.to_string() + " of " +
                                                     dtype.get<std::string>());
    file.tensors.emplace(key, SafetensorsEntry{dtype.get<std::string>(), s, data.subspan(begin, end - begin)});
  }
  return file;
}

// Reads and parses a safetensors file.
inline SafetensorsFile read_safetensors(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw io_error(path.string() + ": cannot open for reading");
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw io_error(path.string() + ": cannot read the file size: " + ec.message());
  std::vector<std::byte> storage(size);
  if (size > 0 && !in.read(reinterpret_cast<char*>(storage.data()), std::streamsize(size)))
    throw io_error(path.string() + ": byte " + std::to_string(in.gcount()) + ": read failed");
  SafetensorsFile parsed = parse_safetensors(storage, path.string());
  // The entries point into `storage`; moving a vector keeps its buffer.
  parsed.storage = std::move(storage);
  return parsed;
}

// Writes named tensors and metadata, atomically: to a temporary file that is renamed over
// `path`, so a crash never leaves a half-written file behind.
template <class T>
void write_safetensors(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, TensorView<const T>>>& tensors,
                       const std::map<std::string, std::string>& metadata = {}) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const auto& [key, t] : tensors) {
    if (key == "__metadata__" || header.contains(key)) throw argument_error("write_safetensors: duplicate or reserved name '" + key + "'");
    std::vector<std::int64_t> shape;
    for (int i = 0; i < t.rank(); ++i) shape.push_back(t.size(i));
    const std::uint64_t n = std::uint64_t(t.numel()) * sizeof(T);
    header[key] = {{"dtype", detail::safetensors_dtype<T>()}, {"shape", shape}, {"data_offsets", {offset, offset + n}}};
    offset += n;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // pad so the data starts 8-byte aligned
  const std::uint64_t header_len = text.size();

  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw io_error(tmp.string() + ": cannot open for writing");
    out.write(reinterpret_cast<const char*>(&header_len), 8);
    out.write(text.data(), std::streamsize(text.size()));
    for (const auto& entry : tensors)
      out.write(reinterpret_cast<const char*>(entry.second.data()), std::streamsize(entry.second.numel() * sizeof(T)));
    out.flush();
    if (!out) throw io_error(tmp.string() + ": write failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw io_error(path.string() + ": cannot replace with " + tmp.string() + ": " + ec.message());
}

}  // namespace farbound
