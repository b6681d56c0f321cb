#pragma once
// A model's parameter values, all in one vector, to compare runs.
#include <vector>

#include "farbound/nn/sequential.hpp"

namespace farbound::testing {

template <class T>
std::vector<T> flat_parameters(Sequential<T>& model) {
  std::vector<T> v;
  for (auto* p : model.parameters()) v.insert(v.end(), p->value.span().begin(), p->value.span().end());
  return v;
}

}  // namespace farbound::testing
