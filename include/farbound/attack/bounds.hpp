#pragma once
// Bounds: the box [lower, upper] that every input lives in, in the model's input units
// ([0, 1] pixels for the image loaders), as in Foolbox. Attacks clip every iterate to it.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "farbound/core/error.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/core/format_number.hpp"

namespace farbound {

// The box the inputs live in, [lower, upper] per coordinate (default [0, 1], pixel units).
struct Bounds {
  // Smallest value of every coordinate.
  double lower = 0.0;
  // Largest value of every coordinate.
  double upper = 1.0;

  // Every finite float: clipping changes nothing. The reference's FGSM training step does
  // not clip, and farbound's FGSM training keeps its results.
  static Bounds unbounded() { return {-double(std::numeric_limits<float>::max()), double(std::numeric_limits<float>::max())}; }

  // Throws argument_error unless lower < upper, both finite.
  void validate(const char* who) const {
    if (!std::isfinite(lower) || !std::isfinite(upper) || !(lower < upper))
      throw argument_error(std::string(who) + ": bounds [" + detail::format_number(lower) + ", " +
                           detail::format_number(upper) + "] must be finite with lower < upper");
  }

  // Throws argument_error naming the first element of x outside [lower, upper] (NaN included):
  // an input outside the box would be moved by the first clip, so its attack distance would
  // be wrong.
  template <class T>
  void require_inside(TensorView<const T> x, const char* who) const {
    const T lo = T(lower), hi = T(upper);
    for (std::int64_t i = 0; i < x.numel(); ++i)
      if (!(x[i] >= lo && x[i] <= hi))
        throw argument_error(std::string(who) + ": input element " + std::to_string(i) + " (item " +
                             std::to_string(i / x.shape().item_numel()) + ") is " +
                             detail::format_number(double(x[i])) + ", outside the bounds [" +
                             detail::format_number(lower) + ", " + detail::format_number(upper) + "]");
  }
};

}  // namespace farbound
