// farbound-toy2d: the data-sparsity hypothesis in a picture you can look at.
//
// Two classes in the plane. A small MLP is trained twice from the same initial weights:
// with plain cross-entropy, and with the data-sparsity framework (an unlabelled cloud
// x + N(0, sigma_u^2 I) around every labelled point, K neighbours x + N(0, sigma_n^2 I)
// around every anchor, and the smoothness loss lambda * GR that flattens the softmax
// wherever the anchors reach; docs/papers.md section 1). Both softmax surfaces are drawn side by
// side, p(class 1) from blue (0) through white (1/2) to red (1), with the decision boundary
// p = 1/2 in black and the training points on top (--show-cloud adds the framework's
// unlabelled cloud of the first epoch). For each model it prints the training accuracy,
// the mean and minimum distance from the training points to the boundary (located, not
// estimated: metrics/planar_boundary.hpp), and how the plotted square is shared out.
//
//   farbound-toy2d                                    # two clusters -> toy2d.png, toy2d.svg
//   farbound-toy2d --dataset moons --show-cloud --out moons
//
// Every flag of the framework (--lambda, --sigma-u, --sigma-n, --nu, -k) defaults to a
// value chosen per data set (docs/results.md has the measurements behind them).
#include <algorithm>
#include <cstdio>
#include <vector>

// The one translation unit of this program that compiles stb_image_write's functions
// (farbound/viz/png.hpp explains why a header-only library leaves this to the program).
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include "farbound/viz/png.hpp"

#include <CLI/CLI.hpp>

#include "farbound/attack/deepfool.hpp"
#include "farbound/metrics/boundary_distance.hpp"
#include "farbound/metrics/plane_grid.hpp"
#include "farbound/metrics/planar_boundary.hpp"
#include "farbound/nn/zoo.hpp"
#include "farbound/train/batch_source.hpp"
#include "farbound/train/evaluate.hpp"
#include "farbound/train/trainer.hpp"
#include "farbound/viz/heatmap.hpp"
#include "support/cli.hpp"
#include "support/flags.hpp"
#include "support/toy2d_figure.hpp"
#include "support/toy2d_flags.hpp"
#include "support/toy2d_report.hpp"

using namespace farbound;

int main(int argc, char** argv) {
  examples::wait_passively(argv);
  CLI::App app{"Train a small MLP on a 2-D toy set, plain and with the data-sparsity framework, and draw both",
               "farbound-toy2d"};
  examples::Toy2dSettings s;
  examples::add_toy2d_flags(app, s);
  return examples::run(app, argc, argv, [&] {
    examples::check_toy2d_settings(app, s);
    const examples::Framework& framework = s.framework;
    const Dataset<float> data = examples::make_toy_dataset(s.dataset, s.points, s.seed);
    const std::vector<Point2> xy = to_points<float>(data.inputs());
    const std::vector<int> labels(data.labels().begin(), data.labels().end());
    const ModelSpec spec{.arch = "mlp", .activation = s.activation, .in_channels = 2, .image_size = 1, .num_classes = 2,
                         .hidden = s.hidden, .mean = {0.0}, .stddev = {1.0}};

    // The plotted square, and a 3x larger one where the boundary is looked for, so that a
    // boundary far from the data (the framework's aim) is still found and measured.
    const examples::PanelLayout layout = examples::panel_layout(s.width, s.height);
    const PlaneRect square = framing_rect(xy, 0.2);
    const PlaneGrid pixels(square, layout.side, layout.side), lattice(square.scaled(3), s.resolution, s.resolution);

    std::vector<examples::ToyOutcome> outcomes;
    for (const bool regularised : {false, true}) {
      TrainConfig cfg = s.train;
      if (regularised) {
        cfg.grad_reg_lambda = framework.lambda;
        cfg.num_unlabeled_per_labeled = framework.nu;
        cfg.unlabeled_noise_std = framework.sigma_u;
        cfg.num_neighbor_per_anchor = framework.k;
        cfg.neighbor_noise_std = framework.sigma_n;
      }
      Sequential<float> model = build_model<float>(spec, s.seed);  // the same initial weights for both
      Trainer<float> trainer(model, cfg, plain_source<float>(data));
      while (!trainer.finished()) trainer.run_epoch();

      examples::ToyOutcome o;
      o.title = examples::panel_title(regularised, framework);
      o.accuracy = evaluate(model, plain_source<float>(data)).accuracy;
      const PlanarBoundary boundary = planar_boundary(model, lattice);
      o.distance = planar_distances(boundary, xy);
      // The general-purpose estimate, for comparison: DeepFool's direction, then bisection
      // along it (metrics/boundary_distance.hpp). It can only overestimate.
      const PlaneRect box = lattice.rect;
      DeepFool<float> deepfool(DeepFoolOptions{.bounds = {std::min(box.x_min, box.y_min), std::max(box.x_max, box.y_max)}});
      o.deepfool_mean = summarize(boundary_distance(model, deepfool, data.inputs())).mean;
      o.panel = {pixels, class_probability(model, pixels.centres(), 1), boundary.segments, xy, labels, {}};
      if (regularised && s.show_cloud) o.panel.cloud = examples::first_epoch_cloud(data, framework, s.seed);
      outcomes.push_back(std::move(o));
    }

    examples::write_toy2d_figure(s.png_path, s.svg_path, layout, outcomes);
    examples::print_toy2d_report(s, outcomes[0], outcomes[1], square);
    return 0;
  });
}
