// The standard robustness suite (APGD-CE, APGD-T, FAB-T, Square; metrics/standard_suite.hpp)
// on a saved model over the first --images Fashion-MNIST test images: robust accuracy, the
// share each member removed, and the seconds each member and the whole suite took.
//
// With --members, APGD-CE, APGD-DLR (untargeted) and Square also run alone on every image,
// with the suite's settings (100 steps, 1 restart; 5000 queries), as ART runs them in
// benchmarks/suite_vs_art.py; with --export DIR the images and labels (.npy) and every
// per-image verdict and time (farbound.json) go to DIR for that script.
//
// Usage: suite_lenet --model FILE [--images 1000] [--eps 0.1] [--threads 2] [--batch 256]
//                    [--seed 0] [--members] [--export DIR] [--data /usr/share/datasets/fashion-mnist]
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "farbound/attack/apgd.hpp"
#include "farbound/attack/square.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/data/image_batcher.hpp"
#include "farbound/data/mnist.hpp"
#include "farbound/io/model_file.hpp"
#include "farbound/io/npy.hpp"
#include "farbound/metrics/standard_suite.hpp"
#include "support/driver.hpp"

namespace {
using namespace farbound;
namespace bench = farbound::bench;

struct Args {
  std::string model, data = default_fashion_mnist_dir.string(), export_dir;
  std::int64_t images = 1000, batch = 256;
  double eps = 0.1;
  int threads = 2;
  std::uint64_t seed = 0;
  bool members = false;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--members") {
      a.members = true;
      continue;
    }
    if (i + 1 >= argc) throw argument_error("suite_lenet: " + flag + " needs a value");
    const std::string v = argv[++i];
    if (flag == "--model") a.model = v;
    else if (flag == "--data") a.data = v;
    else if (flag == "--export") a.export_dir = v;
    else if (flag == "--images") a.images = std::stoll(v);
    else if (flag == "--batch") a.batch = std::stoll(v);
    else if (flag == "--eps") a.eps = std::stod(v);
    else if (flag == "--threads") a.threads = std::stoi(v);
    else if (flag == "--seed") a.seed = std::stoull(v);
    else throw argument_error("suite_lenet: unknown flag " + flag);
  }
  if (a.model.empty()) throw argument_error("suite_lenet: --model FILE is required");
  if (a.images < 1 || a.batch < 1 || a.threads < 1 || !(a.eps > 0))
    throw argument_error("suite_lenet: --images, --batch and --threads must be >= 1, --eps > 0");
  return a;
}

double robust_percent(std::span<const std::uint8_t> fooled) {
  return 100.0 * double(std::count(fooled.begin(), fooled.end(), 0)) / double(fooled.size());
}

}  // namespace

int main(int argc, char** argv) try {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const Args args = parse(argc, argv);
  set_threads(args.threads);
  LoadedModel<float> loaded = load_model<float>(args.model);
  Sequential<float>& model = loaded.model;

  const ImageDataset test = load_fashion_mnist(DataPart::test, args.data);
  std::vector<std::int64_t> items(std::size_t(std::min(args.images, test.size())));
  std::iota(items.begin(), items.end(), 0);
  Tensor<float> x;
  std::vector<int> y;
  ImageBatcher<float>({.resize = ResizeMode::zero_pad}).load(test, items, 0, x, y);
  const std::int64_t n = x.size(0);
  std::printf("standard suite, Linf eps %g, %lld Fashion-MNIST test images, %d threads on %s, load %s\n", args.eps,
              static_cast<long long>(n), args.threads, bench::cpu_name().c_str(), bench::load_average().c_str());

  nlohmann::json out = {{"eps", args.eps}, {"images", n}, {"threads", args.threads}, {"batch", args.batch}};
  Tensor<float> adv;
  RobustnessSuite<float> suite = standard_suite<float>({.seed = args.seed, .batch_size = args.batch});
  const bench::Instant t0 = bench::Instant::now();
  suite.run(model, x.view(), y, args.eps, adv);
  const bench::Elapsed took = bench::since(t0);
  const SuiteRun& run = suite.last_run();
  std::printf("  clean accuracy %.2f %%, suite robust accuracy %.2f %%\n", 100.0 * double(run.clean_correct) / double(n),
              100 * run.robust_accuracy());
  for (std::size_t a = 0; a < run.attacks.size(); ++a)
    std::printf("  %-8s removed %5lld points in %8.2f s\n", run.attacks[a].c_str(),
                static_cast<long long>(run.removed[a]), run.seconds[a]);
  std::printf("  suite: %.2f s wall, %.2f s CPU -> %.2f images/s\n", took.wall, took.cpu, double(n) / took.wall);
  out["suite"] = {{"seconds", took.wall},
                  {"cpu_seconds", took.cpu},
                  {"attacks", run.attacks},
                  {"removed", run.removed},
                  {"attack_seconds", run.seconds},
                  {"clean_correct", run.clean_correct},
                  {"fooled", std::vector<int>(suite.fooled().begin(), suite.fooled().end())}};

  if (args.members) {
    // Each alone on every image, as ART runs them: verdicts per image and seconds.
    const auto member = [&](const std::string& name, auto attack) {
      const bench::Instant m0 = bench::Instant::now();
      attack.run(model, x.view(), y, args.eps, adv);
      const double seconds = bench::since(m0).wall;
      std::printf("  alone: %-9s robust accuracy %6.2f %% in %8.2f s\n", name.c_str(), robust_percent(attack.fooled()),
                  seconds);
      out["members"][name] = {{"seconds", seconds},
                              {"fooled", std::vector<int>(attack.fooled().begin(), attack.fooled().end())}};
    };
    for (ApgdLoss loss : {ApgdLoss::cross_entropy, ApgdLoss::dlr})
      member(std::string("APGD-") + to_string(loss),
             Apgd<float>({.loss = loss, .steps = 100, .restarts = 1, .seed = args.seed, .batch_size = args.batch}));
    member("Square", Square<float>({.queries = 5000, .p_init = 0.8, .seed = args.seed, .batch_size = args.batch}));
  }

  if (!args.export_dir.empty()) {
    const std::filesystem::path dir = args.export_dir;
    std::filesystem::create_directories(dir);
    write_npy(dir / "images.npy", x);
    Tensor<std::uint8_t> labels({n});
    for (std::int64_t i = 0; i < n; ++i) labels[i] = std::uint8_t(y[std::size_t(i)]);
    write_npy(dir / "labels.npy", labels);
    std::ofstream(dir / "farbound.json") << out.dump() << "\n";
    std::printf("  wrote images.npy, labels.npy and farbound.json to %s\n", dir.c_str());
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "suite_lenet: %s\n", e.what());
  return 2;
}
