#pragma once
// farbound-toy2d's report: what was measured on the plain and the framework model, printed
// side by side (accuracy, distances from the training points to the boundary, how the
// plotted square is shared out).
#include <algorithm>
#include <cstdio>
#include <string>

#include "farbound/metrics/plane_grid.hpp"
#include "farbound/metrics/planar_boundary.hpp"
#include "farbound/viz/heatmap.hpp"
#include "support/number_text.hpp"
#include "support/toy2d_flags.hpp"

namespace examples {

// One trained model and what was measured on it.
struct ToyOutcome {
  std::string title;
  double accuracy = 0;
  farbound::PlanarDistances distance;
  double deepfool_mean = 0;  // the attack-based estimate of the same mean (an upper bound)
  farbound::HeatmapPanel panel;

  // Of the plotted square: the share of pixels with p(class 1) > 1/2.
  double class1_share() const {
    return double(std::count_if(panel.values.begin(), panel.values.end(), [](double p) { return p > 0.5; })) /
           double(panel.values.size());
  }
};

inline void print_toy2d_report(const Toy2dSettings& s, const ToyOutcome& plain, const ToyOutcome& reg,
                               const farbound::PlaneRect& square) {
  const Framework& f = s.framework;
  std::printf("farbound-toy2d: %s, %lld points, seed %llu, MLP 2-", s.dataset.c_str(), static_cast<long long>(s.points),
              static_cast<unsigned long long>(s.seed));
  for (std::int64_t h : s.hidden) std::printf("%lld-", static_cast<long long>(h));
  std::printf("2 %s, %d epochs\n", s.activation.c_str(), s.train.num_epochs);
  std::printf("framework: lambda %g, sigma_u %g, sigma_n %g, Nu %d, K %d\n", f.lambda, f.sigma_u, f.sigma_n, f.nu, f.k);
  std::printf("%-34s %12s %12s\n", "", "plain", "framework");
  std::printf("%-34s %11.1f%% %11.1f%%\n", "training accuracy", 100 * plain.accuracy, 100 * reg.accuracy);
  std::printf("%-34s %12.4f %12.4f\n", "mean distance to the boundary", plain.distance.mean, reg.distance.mean);
  std::printf("%-34s %12.4f %12.4f\n", "min distance to the boundary", plain.distance.min, reg.distance.min);
  std::printf("%-34s %12.4f %12.4f\n", "  mean by DeepFool + bisection", plain.deepfool_mean, reg.deepfool_mean);
  std::printf("%-34s %11.1f%% %11.1f%%\n", "plotted square given to class 0", 100 * (1 - plain.class1_share()),
              100 * (1 - reg.class1_share()));
  std::printf("%-34s %11.1f%% %11.1f%%\n", "plotted square given to class 1", 100 * plain.class1_share(),
              100 * reg.class1_share());
  std::printf("mean distance, framework / plain: %.3f\n", reg.distance.mean / plain.distance.mean);
  for (const ToyOutcome* o : {&plain, &reg})
    if (o->distance.beyond_window > 0)
      std::printf("note: %s: %lld point(s) lie nearer the search square's edge than the boundary found; their distance "
                  "is an upper bound\n",
                  o == &plain ? "plain" : "framework", static_cast<long long>(o->distance.beyond_window));
  std::printf("square [%.3f, %.3f] x [%.3f, %.3f]; wrote %s and %s (%d x %d)\n", square.x_min, square.x_max,
              square.y_min, square.y_max, s.png_path.string().c_str(), s.svg_path.string().c_str(), s.width, s.height);
}

}  // namespace examples
