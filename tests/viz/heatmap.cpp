#include "farbound/viz/heatmap.hpp"

#include <catch2/catch.hpp>

#include <stb/stb_image.h>  // bodies compiled in tests/viz/png.cpp

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "farbound/data/toy.hpp"
#include "farbound/metrics/planar_boundary.hpp"
#include "farbound/nn/zoo.hpp"
#include "farbound/train/evaluate.hpp"
#include "farbound/train/trainer.hpp"
#include "support/text.hpp"

using namespace farbound;
using farbound::testing::count;

namespace {

// A panel over [-1, 1]^2 whose field rises from 0 at the left to 1 at the right, with the
// boundary x = 0, one point of each class and a cloud point.
HeatmapPanel ramp_panel() {
  HeatmapPanel p;
  p.grid = PlaneGrid({-1, 1, -1, 1}, 20, 10);
  for (const Point2& c : p.grid.centres()) p.values.push_back((c.x + 1) / 2);
  p.contour = {{{0, -1}, {0, 1}}};
  p.points = {{-0.5, 0.5}, {0.5, -0.5}};
  p.classes = {0, 1};
  p.cloud = {{-0.5, -0.5}};
  return p;
}

}  // namespace

TEST_CASE("heatmap colours: blue, white, red; classes in distinct colours", "[heatmap]") {
  CHECK(heatmap_colour(0) == Rgb{67, 147, 195});
  CHECK(heatmap_colour(0.5) == Rgb{247, 247, 247});
  CHECK(heatmap_colour(1) == Rgb{214, 96, 77});
  CHECK(heatmap_colour(-3) == heatmap_colour(0));
  CHECK(heatmap_colour(7) == heatmap_colour(1));
  CHECK(heatmap_colour(std::numeric_limits<double>::quiet_NaN()) == heatmap_colour(0.5));
  CHECK(!(class_colour(0) == class_colour(1)));
  CHECK(class_colour(8) == class_colour(0));
}

TEST_CASE("render_heatmap: requested size, field, contour, points, cloud", "[heatmap]") {
  const HeatmapPanel panel = ramp_panel();
  const RgbImage img = render_heatmap(panel, 120, 80);
  CHECK(img.width() == 120);
  CHECK(img.height() == 80);
  CHECK(img.at(1, 40) == heatmap_colour(panel.values[20]));  // left edge: the first column's value
  CHECK(img.at(118, 5).r > img.at(118, 5).b);               // right: red
  CHECK(img.at(60, 70).r < 60);                              // on the contour x = 0: dark
  CHECK(img.at(30, 20) == class_colour(0));                  // the class-0 point at (-0.5, 0.5)
  CHECK(img.at(90, 60) == class_colour(1));
  const Rgb cloud = img.at(30, 60), field = heatmap_colour(0.25);
  CHECK(int(cloud.r) + cloud.g + cloud.b < int(field.r) + field.g + field.b);  // darkened by the cloud point
}

TEST_CASE("draw_heatmap: embedded field raster under vector overlays", "[heatmap]") {
  const HeatmapPanel panel = ramp_panel();
  SvgDocument svg(300, 200);
  draw_heatmap(svg, panel, 10, 20, 200, 150);
  const std::string s = svg.str();
  CHECK(count(s, "<image x=\"10\" y=\"20\" width=\"200\" height=\"150\"") == 1);
  CHECK(count(s, "data:image/png;base64,iVBORw0KGgo") == 1);  // a PNG signature
  CHECK(count(s, "<path d=\"M110 170 L110 20\"") == 1);       // the contour x = 0, in box coordinates
  CHECK(count(s, "<circle") == 3);                             // two points and one cloud point
  CHECK(count(s, "clip-path") == 1);
}

TEST_CASE("heat map panels with mismatched parts are rejected", "[heatmap][errors]") {
  HeatmapPanel p = ramp_panel();
  p.values.pop_back();
  CHECK_THROWS_WITH(render_heatmap(p, 10, 10), Catch::Contains("199 values for a 20 x 10 grid"));
  p = ramp_panel();
  p.classes.push_back(1);
  CHECK_THROWS_AS(render_heatmap(p, 10, 10), argument_error);
  p = ramp_panel();
  p.classes[0] = -1;
  SvgDocument svg(10, 10);
  CHECK_THROWS_AS(draw_heatmap(svg, p, 0, 0, 10, 10), argument_error);
  CHECK_THROWS_AS(render_heatmap(ramp_panel(), 0, 10), argument_error);
}

// The farbound-toy2d experiment on two moons at its preset (seed 1): the framework's
// boundary lies farther from the training points at the same training accuracy, and the
// picture is written at the requested size.
TEST_CASE("toy 2-D picture: the framework's boundary is farther from the data", "[heatmap][toy2d]") {
  const Dataset<float> data = two_moons<float>(200, 1, 0.05);
  const std::vector<Point2> xy = to_points<float>(data.inputs());
  const PlaneRect square = framing_rect(xy, 0.2);
  const ModelSpec spec{.arch = "mlp", .activation = "tanh", .in_channels = 2, .image_size = 1, .num_classes = 2,
                       .hidden = {32, 32}};
  double accuracy[2], mean[2];
  RgbImage picture(2 * 90 + 10, 90);
  for (const bool framework : {false, true}) {
    TrainConfig cfg;
    cfg.num_epochs = 80;
    cfg.batch_size = 16;
    cfg.lr = 1e-2;
    cfg.seed = 1;
    if (framework) {
      cfg.grad_reg_lambda = 0.07;
      cfg.num_unlabeled_per_labeled = 4;
      cfg.unlabeled_noise_std = 0.3;
      cfg.num_neighbor_per_anchor = 2;
      cfg.neighbor_noise_std = 0.03;
    }
    Sequential<float> model = build_model<float>(spec, 1);
    Trainer<float> trainer(model, cfg, plain_source<float>(data));
    while (!trainer.finished()) trainer.run_epoch();
    accuracy[framework] = evaluate(model, plain_source<float>(data)).accuracy;
    const PlanarBoundary boundary = planar_boundary(model, PlaneGrid(square.scaled(3), 400, 400));
    const PlanarDistances d = planar_distances(boundary, xy);
    mean[framework] = d.mean;
    CHECK(d.beyond_window == 0);
    const PlaneGrid pixels(square, 90, 90);
    const HeatmapPanel panel{pixels, class_probability(model, pixels.centres(), 1), boundary.segments, xy,
                             std::vector<int>(data.labels().begin(), data.labels().end()), {}};
    picture.blit(render_heatmap(panel, 90, 90), framework ? 100 : 0, 0);
  }
  CHECK(accuracy[0] == 1.0);
  CHECK(accuracy[1] == 1.0);
  CHECK(mean[1] > 1.2 * mean[0]);

  const auto path = std::filesystem::temp_directory_path() / "farbound_test_toy2d.png";
  write_png(path, picture);
  int w = 0, h = 0, channels = 0;
  std::uint8_t* px = stbi_load(path.string().c_str(), &w, &h, &channels, 3);
  REQUIRE(px != nullptr);
  CHECK(w == 190);
  CHECK(h == 90);
  stbi_image_free(px);
  std::filesystem::remove(path);
}
