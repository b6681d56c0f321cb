#pragma once
// Geometry of square windows sliding over an [N, C, H, W] batch (convolution, pooling).
//
// Output position p reads input rows p*stride - padding + i for i in [0, kernel); with
//   out = (in + 2*padding - kernel) / stride + 1
// output positions (floor division, as PyTorch). Positions outside [0, in) are padding.
#include <algorithm>
#include <cstdint>
#include <string>

#include "farbound/core/error.hpp"
#include "farbound/core/shape.hpp"

namespace farbound::detail {

struct WindowGeometry {
  std::int64_t kernel = 1, stride = 1, padding = 0;

  // Throws argument_error naming the bad value.
  void validate(const std::string& who) const {
    if (kernel < 1) throw argument_error(who + ": kernel size must be >= 1, got " + std::to_string(kernel));
    if (stride < 1) throw argument_error(who + ": stride must be >= 1, got " + std::to_string(stride));
    if (padding < 0) throw argument_error(who + ": padding must be >= 0, got " + std::to_string(padding));
  }

  // [out, in, kernel, kernel]: the weight shape of a convolution over this window, after
  // checking its channels and the window (argument_error naming who).
  Shape weight_shape(std::int64_t in, std::int64_t out, const std::string& who) const {
    if (in < 1 || out < 1)
      throw argument_error(who + ": channels must be >= 1, got in " + std::to_string(in) + ", out " + std::to_string(out));
    validate(who);
    return {out, in, kernel, kernel};
  }

  // Output extent along one axis of `in` input positions; 0 when the window does not fit.
  std::int64_t out_extent(std::int64_t in) const {
    const std::int64_t span = in + 2 * padding - kernel;
    return span < 0 ? 0 : span / stride + 1;
  }

  // [N, channels, out_h, out_w] for an [N, C, H, W] input with C == channels (any C when
  // channels < 0). Throws shape_error naming the input and the expected shape; who() names
  // the layer and is called only then, so the check allocates nothing when it passes.
  template <class Who>
  Shape output_shape(const Shape& input, std::int64_t channels, std::int64_t out_channels, Who&& who) const {
    if (input.rank() != 4 || input[0] < 1 || (channels >= 0 && input[1] != channels) || input[1] < 1 ||
        out_extent(input[2]) < 1 || out_extent(input[3]) < 1)
      throw shape_error(who() + ": input " + input.to_string() + " does not match [N >= 1, " +
                        (channels < 0 ? std::string("C") : std::to_string(channels)) +
                        ", H, W] with H, W + 2*padding >= kernel " + std::to_string(kernel));
    return {input[0], out_channels < 0 ? input[1] : out_channels, out_extent(input[2]), out_extent(input[3])};
  }

  // Output positions [first, last) whose input index p*stride - padding + offset lies in
  // [0, in), for `out` output positions; offset is the position inside the window.
  struct Range {
    std::int64_t first, last;
  };
  Range valid_outputs(std::int64_t out, std::int64_t in, std::int64_t offset) const {
    const std::int64_t shift = offset - padding;  // input index = p*stride + shift
    const std::int64_t first = shift >= 0 ? 0 : (-shift + stride - 1) / stride;
    const std::int64_t last = in - shift <= 0 ? 0 : (in - shift + stride - 1) / stride;
    return {std::min(first, out), std::clamp(last, std::min(first, out), out)};
  }
};

}  // namespace farbound::detail
