#pragma once
// farbound-boundary's flags: the models and the data, the slice sheet (which test images,
// which plane, how large, which ball), the metrics (over how many test images, with how many
// rays and attack steps), and where the outputs go.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "farbound/attack/bounds.hpp"
#include "farbound/attack/norm.hpp"
#include "support/boundary_report.hpp"
#include "support/flags.hpp"

namespace examples {

struct BoundaryFlags {
  std::vector<std::string> models;  // [NAME=]PATH, one column each
  std::string dataset = "fashion-mnist", data_dir, out_dir = "boundary", plane = "deepfool", ball = "linf";
  std::vector<std::int64_t> images{0, 1, 2, 3, 4, 5};
  double radius = 3, eps = 0.1;
  std::int64_t side = 128, num_test = 1000;
  bool clip = false;
  int threads = 0;
  MetricOptions metric;

  // --plane, --radius, --eps, --ball, --side and --clip as the sheet's options.
  SheetOptions sheet_options() const {
    const std::map<std::string, PlaneAxis> axes{{"deepfool", PlaneAxis::deepfool}, {"gradient", PlaneAxis::gradient},
                                                {"random", PlaneAxis::random}, {"nearest", PlaneAxis::nearest}};
    return {axes.at(plane), radius, eps, ball == "l2" ? farbound::Norm::l2 : farbound::Norm::linf, side,
            clip ? std::optional(farbound::Bounds{}) : std::nullopt};
  }
};

inline void add_boundary_flags(CLI::App& app, BoundaryFlags& f) {
  app.add_option("--model", f.models, "[NAME=]PATH of a model file; repeat for more columns")->required();
  app.add_option("--dataset", f.dataset, "fashion-mnist, mnist or cifar10");
  app.add_option("--data-dir", f.data_dir, "directory of the data files (default for fashion-mnist: Debian's)");
  app.add_option("--images", f.images, "test images of the sheet (rows)")->check(integer_in<std::int64_t>(0, 1000000));
  app.add_option("--plane", f.plane, "first axis of each plane")
      ->check(CLI::IsMember({"deepfool", "gradient", "random", "nearest"}));
  app.add_option("--radius", f.radius, "the plane's half side R (L2, pixel units)")->check(number_in(1e-6, 1000));
  app.add_option("--side", f.side, "cells per side of a slice")->check(integer_in<std::int64_t>(2, 1024));
  app.add_flag("--clip", f.clip, "clip the plane's points to the pixel bounds [0, 1]");
  app.add_option("--eps", f.eps, "radius of the ball drawn around each image")->check(number_in(0, 1000));
  app.add_option("--ball", f.ball, "norm of the ball")->check(CLI::IsMember({"linf", "l2"}));
  app.add_option("--num-test", f.num_test, "test images the metrics run over")->check(integer_in<std::int64_t>(1, 10000));
  app.add_option("--random-rays", f.metric.random_rays, "random directions per point")->check(integer_in(1, 100));
  app.add_option("--ray-max", f.metric.ray_max, "longest ray (L2, pixel units)")->check(number_in(1e-3, 1000));
  app.add_option("--thickness-eps", f.metric.thickness_eps, "PGD radius of the thickness (L2, pixel units)")
      ->check(number_in(1e-6, 1000));
  app.add_option("--fab-steps", f.metric.fab_steps, "FAB steps")->check(integer_in(1, 10000));
  app.add_option("--cw-steps", f.metric.cw_steps, "Carlini-Wagner steps per search")->check(integer_in(1, 100000));
  app.add_option("--threads", f.threads, "OpenMP threads (0: OpenMP's default)")->check(integer_in(0, 1 << 20));
  app.add_option("--out-dir", f.out_dir, "directory of the outputs");
}

// After parsing: the thread count and the output directory. The images against the test
// set's size are checked once the data is loaded.
inline void check_boundary_flags(const CLI::App& app, const BoundaryFlags& f) {
  apply_threads(f.threads, app.get_name());
  check_output_dir("--out-dir", f.out_dir);
}

}  // namespace examples
