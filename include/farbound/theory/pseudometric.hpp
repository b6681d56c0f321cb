#pragma once
// The pseudometric a feature map induces (Wang, Gao, Qi): d'(x, x') = ||g(x) - g(x')||_2.
// It is only a pseudometric: d'(x, x') = 0 for x != x' whenever g cannot tell them apart
// (an oracle that ignores a coordinate puts every value of that coordinate at distance 0).
// d1' comes from the classifier's g1, d2' from the oracle's g2.
#include <cstdint>
#include <string>
#include <vector>

#include "farbound/attack/norm.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/theory/feature_map.hpp"

namespace farbound {

// out[i] = ||a_i - b_i||_2 for the rows of two feature batches [N, F] (in double).
template <class T>
void feature_distances(TensorView<const T> a, TensorView<const T> b, std::vector<double>& out) {
  require_same_shape(a.shape(), b.shape(), "feature_distances");
  const std::int64_t n = a.rank() == 0 ? 0 : a.size(0), f = a.shape().item_numel();
  out.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) out[std::size_t(i)] = detail::distance(a.data() + i * f, b.data() + i * f, f, Norm::l2);
}

// d'(x, x') for a feature map g that must outlive it.
template <class T>
class Pseudometric {
 public:
  // d'(x, x') = ||g(x) - g(x')||.
  explicit Pseudometric(FeatureMap<T>& g) : g_(g) {}

  // g.
  FeatureMap<T>& features() const { return g_; }

  // out[i] = d'(a_i, b_i) for two batches of inputs of the same shape.
  void distances(TensorView<const T> a, TensorView<const T> b, std::vector<double>& out) {
    require_same_shape(a.shape(), b.shape(), "Pseudometric::distances");
    g_.map(a, fa_);
    g_.map(b, fb_);
    feature_distances<T>(fa_.view(), fb_.view(), out);
  }

 private:
  FeatureMap<T>& g_;
  Tensor<T> fa_, fb_;
};

}  // namespace farbound
