// libFuzzer target: the CSV reader on arbitrary text (plain or gzip) must either parse or
// throw farbound::error; what it accepts has finite features and labels in range. The first
// byte picks the options (header mode, label column, delimiter, fixed or inferred classes).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>

#include "farbound/data/csv.hpp"

namespace {

template <class T>
void parse(std::span<const std::byte> bytes, const farbound::CsvOptions& options) {
  try {
    const farbound::Dataset<T> set = farbound::read_csv<T>(bytes, "fuzz", options);
    if (set.size() < 1 || set.shape().rank() != 2 || set.shape()[1] < 1) __builtin_trap();
    for (std::int64_t k = 0; k < set.inputs().numel(); ++k)
      if (!std::isfinite(set.inputs()[k])) __builtin_trap();
    for (int y : set.labels())
      if (y < 0 || y >= set.num_classes()) __builtin_trap();
  } catch (const farbound::error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const unsigned choice = data[0];
  constexpr farbound::CsvHeader headers[3] = {farbound::CsvHeader::detect, farbound::CsvHeader::present,
                                              farbound::CsvHeader::absent};
  constexpr char delimiters[4] = {',', ';', '\t', ' '};
  const farbound::CsvOptions options{.label_column = int(choice % 4) - 1,
                                     .delimiter = delimiters[(choice / 4) % 4],
                                     .header = headers[(choice / 16) % 3],
                                     .num_classes = (choice / 48) % 2 ? 0 : 5};
  const std::span<const std::byte> text(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  parse<float>(text, options);
  parse<double>(text, options);
  return 0;
}
