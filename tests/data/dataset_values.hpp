#pragma once
// A dataset's inputs as a flat vector, for comparing them with expected values.
#include <vector>

#include "farbound/data/dataset.hpp"

namespace farbound::test {

template <class T>
std::vector<T> values(const Dataset<T>& d) {
  return std::vector<T>(d.inputs().data(), d.inputs().data() + d.inputs().numel());
}

}  // namespace farbound::test
