#include "farbound/attack/fab.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "support/attack_models.hpp"
#include "support/closed_form.hpp"

using namespace farbound;

TEST_CASE("FAB's projection onto a hyperplane within the box is the minimal step", "[fab]") {
  const std::vector<double> t = {0.5, 0.5, 0.5}, w = {1.0, -2.0, 0.5};
  std::vector<double> d(3);
  std::vector<std::pair<double, std::int64_t>> kinks;
  // w.t = -0.25; the plane w.x = -0.55 is 0.3 below: L2 d = -0.3 w / ||w||^2, L-inf
  // d = -0.3 sign(w) / ||w||_1, both inside the box.
  detail::project_onto_hyperplane(t.data(), w.data(), -0.55, 3, Norm::l2, 0.0, 1.0, d.data(), kinks);
  for (int j = 0; j < 3; ++j) CHECK(d[std::size_t(j)] == Approx(-0.3 * w[std::size_t(j)] / 5.25));
  detail::project_onto_hyperplane(t.data(), w.data(), -0.55, 3, Norm::linf, 0.0, 1.0, d.data(), kinks);
  for (int j = 0; j < 3; ++j) CHECK(d[std::size_t(j)] == Approx(-0.3 * (w[std::size_t(j)] > 0 ? 1 : -1) / 3.5));
  // 3 above: even the corner of the box (every coordinate 0.5 the right way) only gains 1.75,
  // so the step goes to that corner.
  detail::project_onto_hyperplane(t.data(), w.data(), 2.75, 3, Norm::linf, 0.0, 1.0, d.data(), kinks);
  CHECK(d == std::vector<double>{0.5, -0.5, 0.5});
  // From t' = (0.5, 0.9, 0.5), w.t' = -1.05, to the plane 2.15 above in L-inf: up to
  // lambda 0.5 all three move (slope 3.5, 1.75 gained); coordinates 0 and 2 then sit at the
  // bound 1, and coordinate 1 (room 0.9 down) alone gives the remaining 0.4 at slope 2:
  // lambda = 0.7.
  const std::vector<double> t2 = {0.5, 0.9, 0.5};
  detail::project_onto_hyperplane(t2.data(), w.data(), 1.1, 3, Norm::linf, 0.0, 1.0, d.data(), kinks);
  CHECK(d[0] == Approx(0.5));
  CHECK(d[1] == Approx(-0.7));
  CHECK(d[2] == Approx(0.5));
}

TEST_CASE("FAB-T finds the minimal perturbation of an affine classifier within 2 %", "[fab]") {
  const testing::AffineProblem p = testing::affine_problem(40);
  auto model = p.model();
  for (Norm norm : {Norm::linf, Norm::l2}) {
    Fab<float> attack({.norm = norm, .target_classes = 4});
    for (std::int64_t i = p.first(norm); i < p.first(norm) + 20; ++i) {
      // The exact minimal distance: bisection on the exact robustness (bounds included).
      double lo = 0, hi = 1;
      for (int it = 0; it < 50; ++it) (testing::exactly_robust(p, i, norm, (lo + hi) / 2) ? lo : hi) = (lo + hi) / 2;
      if (hi > 0.29 && norm == Norm::l2) continue;  // the L2 closed form assumes the ball inside the box
      const std::vector<int> label = {p.y[std::size_t(i)]};
      Tensor<float> adv;
      attack.run(model, p.x.slice(i, 1), label, 1.02 * hi, adv);
      INFO(to_string(norm) << " item " << i << " exact " << hi << " found " << attack.distances()[0]);
      CHECK(attack.fooled()[0]);
      CHECK(attack.distances()[0] >= lo * (1 - 1e-5));
      CHECK(testing::predictions(model, adv)[0] != label[0]);
      CHECK(detail::distance(adv.data(), p.x.data() + i * p.d, p.d, norm) <= 1.02 * hi * (1 + 1e-6));
      // Just below the exact radius nothing can be found: x_adv stays the clean point.
      attack.run(model, p.x.slice(i, 1), label, 0.99 * lo, adv);
      CHECK_FALSE(attack.fooled()[0]);
    }
  }
}
