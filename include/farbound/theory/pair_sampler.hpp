#pragma once
// OraclePairSampler: draws x' near x at oracle distance d2'(x, x') < delta2, the pairs over
// which strong-robustness is a probability (Wang, Gao, Qi):
//   P(f1(x) = f1(x') | f2(x) = f2(x'), d2'(x, x') < delta2) > 1 - eta.
// The definition fixes no distribution of pairs; this sampler's is:
//
// Linear oracle g2(x) = P x (identity, coordinates, projection; theory/feature_map.hpp):
//   x' = x + visible c + invisible b,
//   c uniform in the ball of radius delta2 in R^r        -> d2'(x, x') = ||c|| < delta2 exactly,
//   b uniform in the ball of radius invisible_radius in R^(D-r) (input units; the oracle
//     cannot see it, so it costs no oracle distance, however small delta2 is).
// Any other oracle (no geometry):
//   x' = x + v, v uniform in the input-space ball of radius proposal_radius; the caller keeps
//   the draws with d2'(x, x') < delta2 (rejection), so proposal_radius must be large enough
//   to reach beyond delta2 in the oracle's eyes and small enough to keep some draws.
//
// A point uniform in the k-ball of radius R is R u^(1/k) z / ||z||, z ~ N(0, I_k), u ~ U[0, 1).
// Draw `draw` of item `item` uses RandomStream(seed, Purpose::oracle, item, draw, part),
// part 0: the normals of c (or of v), part 1: the normals of b, part 2: the two u's. Only
// the radius depends on delta2, so the draws at different delta2 are the same directions
// scaled (common random numbers: eta-hat(delta2) curves are smooth), and the values do not
// depend on the batch size or the thread count.
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include <Eigen/Core>

#include "farbound/core/error.hpp"
#include "farbound/core/random.hpp"
#include "farbound/core/format_number.hpp"
#include "farbound/theory/feature_map.hpp"

namespace farbound {

// Settings of OraclePairSampler: radius of the oracle-invisible part, radius of the proposals, seed.
struct PairSamplerOptions {
  double invisible_radius = 1.0;  // linear oracles: radius of the invisible part b (input units)
  double proposal_radius = 1.0;   // other oracles: radius of the input-space proposal v
  // Seed of the pairs.
  std::uint64_t seed = 0;
};

// Draws pairs (x, x') with f2(x) = f2(x') and d2'(x, x') < delta2.
template <class T>
class OraclePairSampler {
 public:
  // A sampler for the oracle with features `g2` on inputs of `input_numel` coordinates.
  OraclePairSampler(const FeatureMap<T>& g2, std::int64_t input_numel, PairSamplerOptions options)
      : options_(options), d_(checked_numel(input_numel)), geometry_(g2.geometry(input_numel)) {
    check_radius(options_.invisible_radius, "invisible_radius");
    check_radius(options_.proposal_radius, "proposal_radius");
    if (geometry_ && geometry_->input_numel() != input_numel)
      throw shape_error("OraclePairSampler: oracle geometry of " + std::to_string(geometry_->input_numel()) +
                        " inputs for items of " + std::to_string(input_numel));
  }

  // The settings it samples with.
  const PairSamplerOptions& options() const { return options_; }
  // D, the input's coordinates.
  std::int64_t input_numel() const { return d_; }
  // True when d2'(x, x') < delta2 holds by construction (a linear oracle); false when the
  // caller must check it and reject.
  bool exact() const { return geometry_.has_value(); }
  // g2's subspaces when g2 is linear; empty otherwise.
  const std::optional<FeatureGeometry>& geometry() const { return geometry_; }

  // Throws argument_error unless delta2 is a usable oracle radius (positive, finite).
  static void require_delta2(double delta2, const std::string& who) {
    if (!(delta2 > 0) || !std::isfinite(delta2))
      throw argument_error(who + ": delta2 = " + detail::format_number(delta2) + " must be positive and finite");
  }

  // x_prime = a draw around x (both input_numel numbers) at oracle radius delta2, which the
  // caller has checked with require_delta2 (draw runs inside parallel loops: it never throws).
  void draw(const T* x, std::uint32_t item, std::uint32_t draw, double delta2, T* x_prime) const {
    const RandomStream radii(options_.seed, Purpose::oracle, item, draw, 2);
    const auto u = radii.block(0);
    for (std::int64_t j = 0; j < d_; ++j) x_prime[j] = x[j];
    if (geometry_) {
      add_ball_point(RandomStream(options_.seed, Purpose::oracle, item, draw, 0), RandomStream::to_unit(u[0]), delta2,
                     &geometry_->visible, x_prime);
      add_ball_point(RandomStream(options_.seed, Purpose::oracle, item, draw, 1), RandomStream::to_unit(u[1]),
                     options_.invisible_radius, &geometry_->invisible, x_prime);
    } else {
      add_ball_point(RandomStream(options_.seed, Purpose::oracle, item, draw, 0), RandomStream::to_unit(u[0]),
                     options_.proposal_radius, nullptr, x_prime);
    }
  }

 private:
  static std::int64_t checked_numel(std::int64_t d) {
    if (d < 1 || std::uint64_t(d) > 4 * RandomStream::max_blocks)
      throw argument_error("OraclePairSampler: items of " + std::to_string(d) + " numbers (need 1 to 2^26)");
    return d;
  }
  static void check_radius(double r, const char* name) {
    if (!(r >= 0) || !std::isfinite(r))
      throw argument_error(std::string("OraclePairSampler: ") + name + " = " + detail::format_number(r) +
                           " must be finite and >= 0");
  }

  // out += basis * p with p uniform in the ball of `radius` in R^k (k = basis columns, or
  // D with the standard basis when basis is null). The normals are generated twice (norm,
  // then sum) instead of stored: a draw allocates nothing.
  void add_ball_point(const RandomStream& normals, double u, double radius, const Eigen::MatrixXd* basis, T* out) const {
    const std::int64_t k = basis ? basis->cols() : d_;
    if (k == 0 || radius == 0) return;
    // f(i, z_i) for the k normals, four per Philox block.
    const auto for_each_normal = [&](auto&& f) {
      for (std::int64_t i = 0; i < k; i += 4) {
        const auto z = normals.normal4(std::uint64_t(i) / 4);
        for (std::int64_t j = 0; j < 4 && i + j < k; ++j) f(i + j, z[std::size_t(j)]);
      }
    };
    double norm2 = 0;
    for_each_normal([&](std::int64_t, double z) { norm2 += z * z; });
    if (!(norm2 > 0)) return;
    const double scale = radius * std::pow(u, 1.0 / double(k)) / std::sqrt(norm2);
    for_each_normal([&](std::int64_t i, double z) {
      const double coef = scale * z;
      if (!basis) {
        out[i] = T(double(out[i]) + coef);
        return;
      }
      const double* col = basis->col(i).data();
      for (std::int64_t j = 0; j < d_; ++j)
        if (col[j] != 0) out[j] = T(double(out[j]) + coef * col[j]);  // unit columns: one term
    });
  }

  PairSamplerOptions options_;
  std::int64_t d_;
  std::optional<FeatureGeometry> geometry_;
};

}  // namespace farbound
