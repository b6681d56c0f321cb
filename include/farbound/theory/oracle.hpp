#pragma once
// The oracle f2 = c2 o g2 of Wang, Gao, Qi: the reference a classifier is judged against
// (a human annotator, or the rule that generated a synthetic data set). g2 is a FeatureMap;
// c2 is a decision rule on one item's features, here a plain function: a half-space, the
// largest feature, or anything the user writes.
#include <cmath>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/theory/feature_map.hpp"

namespace farbound {

// An oracle f2 = c2 o g2: a feature map and a decision rule on its features.
template <class T>
class Oracle {
 public:
  // c2: the class of one item from its oracle features g2(x).
  using Decision = std::function<int(std::span<const T> features)>;

  // g2 must outlive the oracle.
  Oracle(FeatureMap<T>& g2, Decision c2) : g2_(g2), c2_(std::move(c2)) {
    if (!c2_) throw argument_error("Oracle: empty decision rule");
  }

  // g2.
  FeatureMap<T>& features() const { return g2_; }

  // labels[i] = f2(x_i) = c2(g2(x_i)); `features` receives g2(x) [N, F] for the caller to
  // reuse (d2' needs it).
  void classify(TensorView<const T> x, std::vector<int>& labels, Tensor<T>& features) {
    g2_.map(x, features);
    const std::int64_t n = features.size(0), f = features.shape().item_numel();
    labels.resize(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i)
      labels[std::size_t(i)] = c2_(std::span<const T>(features.data() + i * f, std::size_t(f)));
  }
  // f2 of every item of x, into `labels`.
  void classify(TensorView<const T> x, std::vector<int>& labels) { classify(x, labels, features_); }

 private:
  FeatureMap<T>& g2_;
  Decision c2_;
  Tensor<T> features_;
};

// c2(g) = [w . g + b >= 0]: class 1 on the side w points to (the rule of
// relevant_features in data/toy.hpp, with w = relevant_direction and b = 0).
template <class T>
typename Oracle<T>::Decision halfspace_decision(std::vector<double> w, double b = 0) {
  if (w.empty()) throw argument_error("halfspace_decision: empty normal");
  return [w = std::move(w), b](std::span<const T> g) {
    if (g.size() != w.size())
      throw shape_error("halfspace_decision: " + std::to_string(g.size()) + " features for a normal of " +
                        std::to_string(w.size()));
    double s = b;
    for (std::size_t j = 0; j < g.size(); ++j) s += w[j] * double(g[j]);
    return s >= 0 ? 1 : 0;
  };
}

// c2(g) = the index of the largest feature (the first one on ties): an oracle whose g2
// outputs class scores.
template <class T>
typename Oracle<T>::Decision argmax_decision() {
  return [](std::span<const T> g) {
    std::size_t best = 0;
    for (std::size_t j = 1; j < g.size(); ++j)
      if (g[j] > g[best]) best = j;
    return int(best);
  };
}

}  // namespace farbound
