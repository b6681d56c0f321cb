#pragma once
// CSV files of labelled feature vectors, plain or gzip-compressed: one item per line, an
// integer class label in one column (the first by default) and the features in the
// others, as float or double.
//
// Accepted: an optional header line (told apart by a field that is not a number, unless
// the options say), "\n" or "\r\n" line ends, blank lines, spaces or tabs around fields,
// a UTF-8 byte-order mark. Rejected with io_error "<file>: byte <offset>: line <L>: ...":
// a line with another number of fields than the first, a feature that is not a finite
// number, a label that is not an integer in [0, num_classes).
//
// The text is scanned twice: first to count lines and fields (so the tensor is allocated
// once, at a size the file really backs: every field takes at least one byte plus a
// delimiter), then to convert the numbers.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/data/dataset.hpp"
#include "farbound/data/detail/byte_source.hpp"

namespace farbound {

// Whether the first line holds column names.
enum class CsvHeader { detect, present, absent };

// How a CSV file is read: label column, delimiter, header, number of classes.
struct CsvOptions {
  int label_column = 0;  // column of the label; -1 for the last one
  // The field separator.
  char delimiter = ',';
  CsvHeader header = CsvHeader::detect;  // detect: a header when any field of line 1 is not a number
  int num_classes = 0;                   // 0: one more than the largest label
};

namespace detail {

inline constexpr std::uint64_t max_csv_bytes = std::uint64_t(1) << 36;
// Inferred class counts stop here: a stray large label should not size per-class arrays.
inline constexpr int max_csv_classes = 1 << 16;

// One line of text and where it starts.
struct CsvLine {
  std::string_view text;
  std::uint64_t offset;  // of its first byte in the content
  std::uint64_t number;  // 1-based
};

// Calls f(line) for every line that is not blank, with "\r" line ends removed.
template <class F>
void for_each_csv_line(std::string_view text, std::uint64_t base, F&& f) {
  std::uint64_t number = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") != std::string_view::npos) f(CsvLine{line, base + pos, number});
    pos = end + 1;
  }
}

// Removes the spaces and tabs around a field (but never the delimiter itself).
inline std::string_view trim_csv_field(std::string_view s, char delimiter) {
  const auto blank = [&](char c) { return (c == ' ' || c == '\t') && c != delimiter; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

// A field as quoted in a message, shortened when long.
inline std::string quote_csv_field(std::string_view f) {
  // Appended piece by piece: "'" + std::string(...) trips GCC 12's -Wrestrict (bug 105329).
  std::string quoted = "'";
  quoted.append(f.substr(0, 40));
  quoted.append(f.size() > 40 ? "...'" : "'");
  return quoted;
}

// Calls f(field, index) for the fields of a line; returns their number.
template <class F>
std::size_t for_each_csv_field(std::string_view line, char delimiter, F&& f) {
  std::size_t index = 0, pos = 0;
  for (;;) {
    std::size_t end = line.find(delimiter, pos);
    if (end == std::string_view::npos) end = line.size();
    f(trim_csv_field(line.substr(pos, end - pos), delimiter), index++);
    if (end == line.size()) return index;
    pos = end + 1;
  }
}

// The whole field as a number of type V (std::from_chars, plus an optional leading '+').
template <class V>
bool parse_csv_number(std::string_view s, V& out) {
  if (s.size() > 1 && s[0] == '+' && s[1] != '-' && s[1] != '+') s.remove_prefix(1);
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

}  // namespace detail

// A data set from CSV text held in memory; `name` is used in messages.
template <class T>
Dataset<T> read_csv(std::span<const std::byte> bytes, const std::string& name, const CsvOptions& options = {}) {
  static_assert(std::is_floating_point_v<T>, "read_csv: features are float or double");
  if (options.label_column < -1) throw argument_error("read_csv: label_column must be >= -1");
  if (options.delimiter == '\n' || options.delimiter == '\r' || options.delimiter == '"')
    throw argument_error("read_csv: the delimiter cannot be a line end or a quote");
  if (options.num_classes < 0 || options.num_classes > detail::max_csv_classes)
    throw argument_error("read_csv: num_classes must be in [0, " + std::to_string(detail::max_csv_classes) + "]");

  detail::ByteSource src(bytes, name);
  std::vector<std::byte> storage;
  const std::span<const std::byte> content = src.rest(storage, detail::max_csv_bytes);
  std::string_view text(reinterpret_cast<const char*>(content.data()), content.size());
  std::uint64_t base = 0;
  if (text.starts_with("\xEF\xBB\xBF")) {
    text.remove_prefix(3);
    base = 3;
  }
  const char delim = options.delimiter;
  const auto fail = [&](const detail::CsvLine& line, std::uint64_t at, const std::string& problem) {
    src.fail(at, "line " + std::to_string(line.number) + ": " + problem);
  };

  // Pass 1: header, number of fields, number of rows.
  std::uint64_t first_data_line = 0, rows = 0;
  std::size_t fields = 0;
  bool first = true;
  detail::for_each_csv_line(text, base, [&](const detail::CsvLine& line) {
    if (first) {
      first = false;
      bool header = options.header == CsvHeader::present;
      if (options.header == CsvHeader::detect)
        detail::for_each_csv_field(line.text, delim, [&](std::string_view f, std::size_t) {
          double v;
          header = header || !detail::parse_csv_number(f, v);
        });
      if (header) return;
    }
    const std::size_t n = detail::for_each_csv_field(line.text, delim, [](std::string_view, std::size_t) {});
    if (rows == 0) {
      fields = n;
      first_data_line = line.number;
      if (n < 2) fail(line, line.offset, "1 field: a label and at least one feature are needed");
      if (options.label_column >= 0 && std::size_t(options.label_column) >= n)
        fail(line, line.offset, "label column " + std::to_string(options.label_column) + " but only " +
                                    std::to_string(n) + " fields");
    } else if (n != fields) {
      fail(line, line.offset, std::to_string(n) + " fields, but line " + std::to_string(first_data_line) + " has " +
                                  std::to_string(fields));
    }
    ++rows;
  });
  if (rows == 0) src.fail(base, "no data lines");

  // Pass 2: the numbers.
  const std::size_t label_col = options.label_column < 0 ? fields - 1 : std::size_t(options.label_column);
  const std::int64_t dim = static_cast<std::int64_t>(fields - 1);
  Tensor<T> features({static_cast<std::int64_t>(rows), dim});
  std::vector<int> labels(rows);
  const int class_limit = options.num_classes > 0 ? options.num_classes : detail::max_csv_classes;
  int max_label = 0;
  std::uint64_t row = 0;
  detail::for_each_csv_line(text, base, [&](const detail::CsvLine& line) {
    if (line.number < first_data_line) return;
    T* out = features.data() + row * std::uint64_t(dim);
    detail::for_each_csv_field(line.text, delim, [&](std::string_view f, std::size_t col) {
      const std::uint64_t at = line.offset + std::uint64_t(f.data() - line.text.data());
      if (col == label_col) {
        long long y;
        if (!detail::parse_csv_number(f, y) || y < 0 || y >= class_limit)
          fail(line, at, "label " + detail::quote_csv_field(f) + " is not an integer in [0, " + std::to_string(class_limit) + ")");
        labels[row] = int(y);
        max_label = std::max(max_label, int(y));
        return;
      }
      T v;
      if (!detail::parse_csv_number(f, v) || !std::isfinite(v))
        fail(line, at, "field " + std::to_string(col) + " " + detail::quote_csv_field(f) + " is not a finite number");
      *out++ = v;
    });
    ++row;
  });
  const int num_classes = options.num_classes > 0 ? options.num_classes : max_label + 1;
  return Dataset<T>(std::move(features), std::move(labels), num_classes);
}

// A data set from a CSV file (gzip or plain).
template <class T>
Dataset<T> load_csv(const std::filesystem::path& path, const CsvOptions& options = {}) {
  const std::vector<std::byte> bytes = detail::read_file_bytes(path);
  return read_csv<T>(bytes, path.string(), options);
}

}  // namespace farbound
