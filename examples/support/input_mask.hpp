#pragma once
// Cutting inputs out of a trained MLP (Normalize with mean 0, std 1, Flatten, Dense, ...):
// the columns of the first Dense layer that read them are set to 0, so those inputs no
// longer reach the model. farbound-oracle compares a classifier before and after.
#include <algorithm>
#include <cstdint>

#include "farbound/nn/dense.hpp"
#include "farbound/nn/sequential.hpp"

namespace examples {

// Inputs j >= first_masked no longer reach `model`.
inline void mask_inputs(farbound::Sequential<float>& model, std::int64_t first_masked) {
  for (std::size_t l = 0; l < model.size(); ++l)
    if (auto* dense = dynamic_cast<farbound::Dense<float>*>(&model.layer(l))) {
      const std::int64_t in = dense->in_features();
      for (std::int64_t o = 0; o < dense->out_features(); ++o)
        for (std::int64_t j = first_masked; j < in; ++j) dense->weight.value[o * in + j] = 0;
      return;
    }
}

// `to` takes `from`'s parameter values (two models of the same architecture).
inline void copy_parameters(farbound::Sequential<float>& from, farbound::Sequential<float>& to) {
  const auto a = from.parameters(), b = to.parameters();
  for (std::size_t i = 0; i < a.size(); ++i) std::copy_n(a[i]->value.data(), a[i]->value.numel(), b[i]->value.data());
}

}  // namespace examples
