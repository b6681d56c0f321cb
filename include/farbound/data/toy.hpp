#pragma once
// Synthetic data sets with float features [N, D] and class labels, for pictures and for
// experiments small enough to reason about:
//   two_clusters        the papers' two-class 2-D picture: one Gaussian cluster per class
//   two_moons           two interleaving half circles
//   concentric_circles  a ring around a disc
//   gaussian_blobs      k Gaussian clusters in D dimensions
//   relevant_features   D dimensions of which only the first n decide the label (Wang et
//                       al.'s oracle sees only those; the rest are "unnecessary features")
//
// Item i draws from its own streams RandomStream(seed, Purpose::data, i, set, part), so a
// set of n items is the first n items of any larger one with the same seed, and the values
// do not depend on the thread count. Except in relevant_features, whose label is computed,
// labels alternate (item i has class i mod k), so every prefix is balanced.
#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/random.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/data/dataset.hpp"

namespace farbound {

namespace detail {

// The `set` coordinate of the toy streams: each family draws its own numbers.
enum class ToyStream : std::uint32_t {
  two_clusters = 1,
  two_moons = 2,
  circles = 3,
  blobs = 4,
  blob_centres = 5,
  relevant = 6,
  relevant_direction = 7,
};

// The normals and the uniforms of one item come from two streams (part 0 and 1), so
// neither depends on how many of the other an item uses.
class ToyDraws {
 public:
  ToyDraws(std::uint64_t seed, ToyStream set, std::uint32_t item)
      : normals_(seed, Purpose::data, item, std::uint32_t(set), 0), uniforms_(seed, Purpose::data, item, std::uint32_t(set), 1) {}
  // Standard normal number k of this item.
  double normal(std::uint64_t k) const { return normals_.normal4(k / 4)[k % 4]; }
  // Uniform number k of this item, in [0, 1).
  double uniform(std::uint64_t k) const { return RandomStream::to_unit(uniforms_.block(k / 4)[k % 4]); }

 private:
  RandomStream normals_, uniforms_;
};

inline void check_toy_size(std::int64_t n, std::int64_t dim, const char* what) {
  if (n < 0 || n > std::int64_t(UINT32_MAX))
    throw argument_error(std::string(what) + ": " + std::to_string(n) + " items outside [0, 2^32)");
  if (dim < 1 || std::uint64_t(dim) > 4 * RandomStream::max_blocks)
    throw argument_error(std::string(what) + ": dimension " + std::to_string(dim) + " outside [1, 2^26]");
}

// Builds an [n, dim] set: fill(i, x) writes item i's features into x and returns its label.
template <class T, class F>
Dataset<T> make_toy_set(std::int64_t n, std::int64_t dim, int num_classes, F&& fill) {
  Tensor<T> x({n, dim});
  std::vector<int> labels(static_cast<std::size_t>(n));
  parallel_for(n, [&](std::int64_t i) { labels[static_cast<std::size_t>(i)] = fill(i, x.data() + i * dim); });
  return Dataset<T>(std::move(x), std::move(labels), num_classes);
}

}  // namespace detail

// Two Gaussian clusters in the plane, class 0 around (-separation/2, 0) and class 1 around
// (+separation/2, 0), each with standard deviation `stddev` per coordinate.
template <class T>
Dataset<T> two_clusters(std::int64_t n, std::uint64_t seed, double separation = 4.0, double stddev = 0.5) {
  detail::check_toy_size(n, 2, "two_clusters");
  if (!(stddev >= 0)) throw argument_error("two_clusters: stddev must be >= 0");
  return detail::make_toy_set<T>(n, 2, 2, [&](std::int64_t i, T* x) {
    const int y = int(i % 2);
    const detail::ToyDraws draw(seed, detail::ToyStream::two_clusters, std::uint32_t(i));
    x[0] = T((y == 0 ? -0.5 : 0.5) * separation + stddev * draw.normal(0));
    x[1] = T(stddev * draw.normal(1));
    return y;
  });
}

// Two interleaving half circles (scikit-learn's make_moons): class 0 on
// (cos t, sin t), class 1 on (1 - cos t, 1/2 - sin t), t uniform in [0, pi), plus Gaussian
// noise of standard deviation `noise`.
template <class T>
Dataset<T> two_moons(std::int64_t n, std::uint64_t seed, double noise = 0.1) {
  detail::check_toy_size(n, 2, "two_moons");
  if (!(noise >= 0)) throw argument_error("two_moons: noise must be >= 0");
  return detail::make_toy_set<T>(n, 2, 2, [&](std::int64_t i, T* x) {
    const int y = int(i % 2);
    const detail::ToyDraws draw(seed, detail::ToyStream::two_moons, std::uint32_t(i));
    const double t = std::numbers::pi * draw.uniform(0);
    x[0] = T((y == 0 ? std::cos(t) : 1.0 - std::cos(t)) + noise * draw.normal(0));
    x[1] = T((y == 0 ? std::sin(t) : 0.5 - std::sin(t)) + noise * draw.normal(1));
    return y;
  });
}

// A circle of radius 1 (class 0) around a circle of radius `factor` (class 1), angles
// uniform, plus Gaussian noise (scikit-learn's make_circles).
template <class T>
Dataset<T> concentric_circles(std::int64_t n, std::uint64_t seed, double factor = 0.5, double noise = 0.05) {
  detail::check_toy_size(n, 2, "concentric_circles");
  if (!(factor > 0 && factor < 1)) throw argument_error("concentric_circles: factor must be in (0, 1)");
  if (!(noise >= 0)) throw argument_error("concentric_circles: noise must be >= 0");
  return detail::make_toy_set<T>(n, 2, 2, [&](std::int64_t i, T* x) {
    const int y = int(i % 2);
    const detail::ToyDraws draw(seed, detail::ToyStream::circles, std::uint32_t(i));
    const double r = y == 0 ? 1.0 : factor, angle = 2 * std::numbers::pi * draw.uniform(0);
    x[0] = T(r * std::cos(angle) + noise * draw.normal(0));
    x[1] = T(r * std::sin(angle) + noise * draw.normal(1));
    return y;
  });
}

// k Gaussian clusters in `dim` dimensions (scikit-learn's make_blobs): the centres are
// uniform in [-centre_box, centre_box]^dim, drawn from the seed; each point is its class
// centre plus N(0, stddev^2 I).
template <class T>
Dataset<T> gaussian_blobs(std::int64_t n, int classes, std::int64_t dim, std::uint64_t seed, double stddev = 1.0,
                          double centre_box = 10.0) {
  detail::check_toy_size(n, dim, "gaussian_blobs");
  if (classes < 1) throw argument_error("gaussian_blobs: classes must be positive");
  if (!(stddev >= 0)) throw argument_error("gaussian_blobs: stddev must be >= 0");
  return detail::make_toy_set<T>(n, dim, classes, [&](std::int64_t i, T* x) {
    const int y = int(i % classes);
    const detail::ToyDraws centre(seed, detail::ToyStream::blob_centres, std::uint32_t(y));
    const detail::ToyDraws draw(seed, detail::ToyStream::blobs, std::uint32_t(i));
    for (std::int64_t d = 0; d < dim; ++d)
      x[d] = T(centre_box * (2 * centre.uniform(std::uint64_t(d)) - 1) + stddev * draw.normal(std::uint64_t(d)));
    return y;
  });
}

// The unit vector w in R^relevant that decides relevant_features' labels.
inline std::vector<double> relevant_direction(std::int64_t relevant, std::uint64_t seed) {
  detail::check_toy_size(0, relevant, "relevant_direction");
  const detail::ToyDraws draw(seed, detail::ToyStream::relevant_direction, 0);
  std::vector<double> w(static_cast<std::size_t>(relevant));
  double norm2 = 0;
  for (std::size_t k = 0; k < w.size(); ++k) {
    w[k] = draw.normal(k);
    norm2 += w[k] * w[k];
  }
  for (double& v : w) v /= std::sqrt(norm2);
  return w;
}

// `dim`-dimensional points whose label depends only on the first `relevant` coordinates:
// x ~ N(0, I), label = [w . x_{0..relevant} >= 0] with w = relevant_direction(relevant,
// seed); then x_{0..relevant} is pushed by `margin` along +w (class 1) or -w (class 0), so
// every point lies at least `margin` from the boundary. The other dim - relevant
// coordinates are pure noise: an oracle that sees only the relevant ones is Wang et al.'s
// f2, and a classifier that uses the others has unnecessary features.
template <class T>
Dataset<T> relevant_features(std::int64_t n, std::int64_t dim, std::int64_t relevant, std::uint64_t seed,
                             double margin = 0.0) {
  detail::check_toy_size(n, dim, "relevant_features");
  if (relevant < 1 || relevant > dim)
    throw argument_error("relevant_features: relevant = " + std::to_string(relevant) + " outside [1, dim = " +
                         std::to_string(dim) + "]");
  if (!(margin >= 0)) throw argument_error("relevant_features: margin must be >= 0");
  const std::vector<double> w = relevant_direction(relevant, seed);
  return detail::make_toy_set<T>(n, dim, 2, [&](std::int64_t i, T* x) {
    const detail::ToyDraws draw(seed, detail::ToyStream::relevant, std::uint32_t(i));
    double projection = 0;
    for (std::int64_t d = 0; d < relevant; ++d) projection += w[std::size_t(d)] * draw.normal(std::uint64_t(d));
    const int y = projection >= 0 ? 1 : 0;
    const double push = y == 1 ? margin : -margin;
    for (std::int64_t d = 0; d < dim; ++d) {
      const double z = draw.normal(std::uint64_t(d));
      x[d] = T(d < relevant ? z + push * w[std::size_t(d)] : z);
    }
    return y;
  });
}

}  // namespace farbound
