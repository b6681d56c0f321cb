#pragma once
// The data sets of farbound-oracle. relevant_features (data/toy.hpp) labels points of
// n + m dimensions by the first n coordinates only; the other m are pure noise. Here those
// m extras are shifted by +-spurious with the label in the training set and the
// in-distribution test set (they predict the label, the oracle never looks at them),
// zeroed for the classifier that sees only the relevant coordinates, and left as noise in
// a decorrelated test set.
#include <cstdint>
#include <utility>
#include <vector>

#include "farbound/data/dataset.hpp"
#include "farbound/data/toy.hpp"
#include "support/oracle_flags.hpp"

namespace examples {

// Items [0, train) of one relevant_features draw are the training set, the rest the test
// set (one draw, so both share the oracle's direction w).
struct OracleSets {
  farbound::Dataset<float> train;             // extras shifted by +-spurious with the label
  farbound::Dataset<float> train_relevant;    // the same points with the extras set to 0 (A's view)
  farbound::Dataset<float> test;              // extras shifted as in training
  farbound::Dataset<float> test_decorrelated; // extras pure noise
};

namespace detail {

// What a set does with the m extra coordinates of relevant_features' points (pure noise).
enum class Extras { shifted, zeroed, noise };

// Items [first, first + count) of `all`, extras shifted by spurious * (2y - 1), zeroed or kept.
inline farbound::Dataset<float> take(const farbound::Dataset<float>& all, std::int64_t first, std::int64_t count,
                                     const OracleSettings& s, Extras extras) {
  farbound::Tensor<float> x = farbound::Tensor<float>::from_view(all.inputs().slice(first, count));
  const std::int64_t d = s.relevant + s.extra;
  std::vector<int> y(all.labels().begin() + first, all.labels().begin() + first + count);
  for (std::int64_t i = 0; i < count; ++i)
    for (std::int64_t j = s.relevant; j < d; ++j) {
      float& v = x[i * d + j];
      if (extras == Extras::zeroed) v = 0;
      if (extras == Extras::shifted) v += float(s.spurious * (2 * y[std::size_t(i)] - 1));
    }
  return farbound::Dataset<float>(std::move(x), std::move(y), 2);
}

}  // namespace detail

inline OracleSets make_oracle_sets(const OracleSettings& s) {
  using detail::Extras, detail::take;
  const auto all =
      farbound::relevant_features<float>(s.train + s.test, s.relevant + s.extra, s.relevant, s.seed, s.margin);
  return {take(all, 0, s.train, s, Extras::shifted), take(all, 0, s.train, s, Extras::zeroed),
          take(all, s.train, s.test, s, Extras::shifted), take(all, s.train, s.test, s, Extras::noise)};
}

}  // namespace examples
