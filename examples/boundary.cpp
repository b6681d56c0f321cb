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
#include <algorithm>
#include <numeric>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include "farbound/viz/png.hpp"
#include "farbound/data/image_batcher.hpp"
#include "support/boundary_flags.hpp"
#include "support/boundary_report.hpp"
#include "support/cli.hpp"
#include "support/datasets.hpp"
#include "support/flags.hpp"

int main(int argc, char** argv) {
  examples::wait_passively(argv);
  using namespace farbound;
  CLI::App app{"Slices through images and boundary metrics of farbound models", "farbound-boundary"};
  examples::BoundaryFlags f;
  examples::add_boundary_flags(app, f);
  return examples::run(app, argc, argv, [&] {
    examples::check_boundary_flags(app, f);

    // The test images the sheet and the metrics need (and training images for --plane
    // nearest), and the models.
    const examples::ImageData data = examples::load_image_data(f.dataset, f.data_dir);
    const std::int64_t last = std::max(f.num_test, *std::max_element(f.images.begin(), f.images.end()) + 1);
    if (last > data.test.size())
      throw argument_error("--images/--num-test: the test set has " + std::to_string(data.test.size()) + " images");
    const auto load = [&](const ImageDataset& set, std::int64_t n, Tensor<float>& x, std::vector<int>& y) {
      std::vector<std::int64_t> items(static_cast<std::size_t>(n));
      std::iota(items.begin(), items.end(), 0);
      ImageBatcher<float>(examples::image_options(set)).load(set, items, 0, x, y);
    };
    Tensor<float> x, train;
    std::vector<int> y, train_y;
    load(data.test, last, x, y);
    if (f.plane == "nearest") load(data.train, std::min<std::int64_t>(10000, data.train.size()), train, train_y);
    std::vector<examples::NamedModel> models;
    for (const auto& flag : f.models) models.push_back(examples::load_named_model(flag, x, data.test.num_classes()));
    std::filesystem::create_directories(f.out_dir);

    // 1. The sheet: the same plane for every model of a row.
    const SliceSheet sheet = examples::build_slice_sheet(models, x.view(), y, f.images,
                                                         examples::class_names(f.dataset, data.test.num_classes()), train,
                                                         train_y, f.sheet_options());
    write_png(std::filesystem::path(f.out_dir) / "sheet.png", render_slice_sheet(sheet));
    slice_sheet_svg(sheet).write(std::filesystem::path(f.out_dir) / "sheet.svg");

    // 2. The metrics over the first --num-test test images.
    const std::vector<int> labels(y.begin(), y.begin() + f.num_test);
    std::vector<examples::BoundaryMetrics> metrics;
    for (auto& m : models)
      metrics.push_back(examples::measure_boundary(m.loaded.model, x.slice(0, f.num_test), labels, f.metric));
    examples::write_boundary_report(f.out_dir, sheet.column_names, metrics, f.metric);
    return 0;
  });
}
