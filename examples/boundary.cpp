// farbound-boundary: where the decision boundary lies around real images, for one or more
// models side by side (docs/boundary.md has the formulas, docs/results.md the pictures).
//
//   farbound-boundary --model plain=baseline.safetensors --model framework=gr.safetensors
//                     --images 0 1 2 3 4 5 --num-test 1000 --out-dir boundary
//
// 1. The slice sheet: for each of --images, the plane through the test image spanned by a
//    first axis (--plane: DeepFool's direction, the margin gradient, a random direction or
//    the direction to the nearest training image of another class, all taken from the
//    first model) and a random direction, over [-R, R]^2; one column per model, the same
//    plane in every column; the eps ball of the evaluation outlined (sheet.png, sheet.svg).
// 2. Over the first --num-test test images, per model: the distance to the boundary along
//    DeepFool's direction and along random directions (rays_NAME.svg), the minimal
//    adversarial distance (best of DeepFool, CW, FAB; minimal_distance.svg), the boundary
//    thickness (thickness.svg), the first-order margin (margin.svg); metrics.md and
//    metrics.json hold the numbers.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <numeric>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include "farbound/viz/png.hpp"
#include "farbound/data/image_batcher.hpp"
#include "support/boundary_report.hpp"
#include "support/cli.hpp"
#include "support/datasets.hpp"
#include "support/flags.hpp"

int main(int argc, char** argv) {
  examples::wait_passively(argv);
  using namespace farbound;
  CLI::App app{"Slices through images and boundary metrics of farbound models", "farbound-boundary"};
  std::vector<std::string> model_flags;
  std::string dataset = "fashion-mnist", data_dir, out_dir = "boundary", plane = "deepfool", ball = "linf";
  std::vector<std::int64_t> images{0, 1, 2, 3, 4, 5};
  double radius = 3, eps = 0.1;
  std::int64_t side = 128, num_test = 1000;
  bool clip = false;
  int threads = 0;
  examples::MetricOptions metric;
  app.add_option("--model", model_flags, "[NAME=]PATH of a model file; repeat for more columns")->required();
  app.add_option("--dataset", dataset, "fashion-mnist, mnist or cifar10");
  app.add_option("--data-dir", data_dir, "directory of the data files (default for fashion-mnist: Debian's)");
  app.add_option("--images", images, "test images of the sheet (rows)")->check(examples::integer_in<std::int64_t>(0, 1000000));
  app.add_option("--plane", plane, "first axis of each plane")->check(CLI::IsMember({"deepfool", "gradient", "random", "nearest"}));
  app.add_option("--radius", radius, "the plane's half side R (L2, pixel units)")->check(examples::number_in(1e-6, 1000));
  app.add_option("--side", side, "cells per side of a slice")->check(examples::integer_in<std::int64_t>(2, 1024));
  app.add_flag("--clip", clip, "clip the plane's points to the pixel bounds [0, 1]");
  app.add_option("--eps", eps, "radius of the ball drawn around each image")->check(examples::number_in(0, 1000));
  app.add_option("--ball", ball, "norm of the ball")->check(CLI::IsMember({"linf", "l2"}));
  app.add_option("--num-test", num_test, "test images the metrics run over")->check(examples::integer_in<std::int64_t>(1, 10000));
  app.add_option("--random-rays", metric.random_rays, "random directions per point")->check(examples::integer_in(1, 100));
  app.add_option("--ray-max", metric.ray_max, "longest ray (L2, pixel units)")->check(examples::number_in(1e-3, 1000));
  app.add_option("--thickness-eps", metric.thickness_eps, "PGD radius of the thickness (L2, pixel units)")->check(examples::number_in(1e-6, 1000));
  app.add_option("--fab-steps", metric.fab_steps, "FAB steps")->check(examples::integer_in(1, 10000));
  app.add_option("--cw-steps", metric.cw_steps, "Carlini-Wagner steps per search")->check(examples::integer_in(1, 100000));
  app.add_option("--threads", threads, "OpenMP threads (0: OpenMP's default)")->check(examples::integer_in(0, 1 << 20));
  app.add_option("--out-dir", out_dir, "directory of the outputs");
  return examples::run(app, argc, argv, [&] {
    examples::apply_threads(threads, "farbound-boundary");
    examples::check_output_dir("--out-dir", out_dir);
    const examples::ImageData data = examples::load_image_data(dataset, data_dir);
    const std::int64_t last = std::max(num_test, *std::max_element(images.begin(), images.end()) + 1);
    if (last > data.test.size()) throw argument_error("--images/--num-test: the test set has " + std::to_string(data.test.size()) + " images");
    const auto load = [&](const ImageDataset& set, std::int64_t n, Tensor<float>& x, std::vector<int>& y) {
      std::vector<std::int64_t> items(static_cast<std::size_t>(n));
      std::iota(items.begin(), items.end(), 0);
      ImageBatcher<float>(examples::image_options(set)).load(set, items, 0, x, y);
    };
    Tensor<float> x, train;
    std::vector<int> y, train_y;
    load(data.test, last, x, y);
    if (plane == "nearest") load(data.train, std::min<std::int64_t>(10000, data.train.size()), train, train_y);
    std::vector<examples::NamedModel> models;
    for (const auto& flag : model_flags) models.push_back(examples::load_named_model(flag, x, data.test.num_classes()));
    std::filesystem::create_directories(out_dir);

    // 1. The sheet: the same plane for every model of a row.
    const std::map<std::string, examples::PlaneAxis> axes{{"deepfool", examples::PlaneAxis::deepfool},
        {"gradient", examples::PlaneAxis::gradient}, {"random", examples::PlaneAxis::random}, {"nearest", examples::PlaneAxis::nearest}};
    const SliceSheet sheet = examples::build_slice_sheet(models, x.view(), y, images, examples::class_names(dataset, data.test.num_classes()),
        train, train_y, {axes.at(plane), radius, eps, ball == "l2" ? Norm::l2 : Norm::linf, side, clip ? std::optional(Bounds{}) : std::nullopt});
    write_png(std::filesystem::path(out_dir) / "sheet.png", render_slice_sheet(sheet));
    slice_sheet_svg(sheet).write(std::filesystem::path(out_dir) / "sheet.svg");

    // 2. The metrics over the first --num-test test images.
    const std::vector<int> labels(y.begin(), y.begin() + num_test);
    std::vector<examples::BoundaryMetrics> metrics;
    for (auto& m : models) metrics.push_back(examples::measure_boundary(m.loaded.model, x.slice(0, num_test), labels, metric));
    examples::write_boundary_report(out_dir, sheet.column_names, metrics, metric);
    return 0;
  });
}
