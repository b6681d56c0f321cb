// libFuzzer target: the .npy parser on arbitrary bytes must either parse or throw
// farbound::error. Every array it accepts must convert, and re-encoding it must give an
// image that parses back to the same dtype, shape and bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "farbound/io/npy.hpp"

namespace {

template <class T>
void check_round_trip(const farbound::NpyView& v) {
  const farbound::Tensor<T> t = v.to_tensor<T>();
  const auto image = farbound::encode_npy<T>(t.view());
  const farbound::NpyView back = farbound::parse_npy(image, "re-encoded");
  if (back.dtype != v.dtype || !(back.shape == v.shape) || back.data.size() != v.data.size() ||
      (!v.data.empty() && std::memcmp(back.data.data(), v.data.data(), v.data.size()) != 0))
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const farbound::NpyView v = farbound::parse_npy(std::span(reinterpret_cast<const std::byte*>(data), size), "fuzz");
    (void)v.to_tensor<double>();
    switch (v.dtype) {
      case farbound::NpyDtype::uint8: check_round_trip<std::uint8_t>(v); break;
      case farbound::NpyDtype::float32: check_round_trip<float>(v); break;
      case farbound::NpyDtype::float64: check_round_trip<double>(v); break;
    }
  } catch (const farbound::error&) {
  }
  return 0;
}
