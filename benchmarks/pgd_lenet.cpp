// PGD-20 L-inf on LeNet over the 10 000 Fashion-MNIST test images: images per second,
// next to the same attack in PyTorch (benchmarks/pgd_lenet_torch.py) on the same weights,
// data and thread count.
//
// The model is the zoo's LeNet, the paper's MNIST model (Normalize with Fashion-MNIST's mean
// 0.2860 and std 0.3530, conv 1->6 k5, sigmoid, max-pool 2, conv 6->16 k5, sigmoid, max-pool
// 2, dense 400-120-84-10 with sigmoids), on the test images zero-padded to 32x32 (as the
// examples feed 28x28 images to the zoo's 32x32 models). So that the attack has something to do,
// the model is first trained for --train-epochs epochs (Adam, lr 1e-3, batch 64).
//
// The attack: eps 0.1 in [0, 1] pixel units, 20 steps of 2.5 eps / 20, random start,
// batches of --batch images. One run attacks all 10 000 images; the figure is the median
// over --runs runs. With --export DIR the weights (one .npy per tensor, named as PyTorch's
// nn.Sequential state_dict keys), the images, the labels and this program's result
// (farbound.json) go to DIR for the PyTorch script.
//
// Usage: pgd_lenet [--threads 2] [--runs 5] [--batch 250] [--eps 0.1] [--train-epochs 1]
//                  [--images 10000] [--data /usr/share/datasets/fashion-mnist] [--export DIR]
// (--images attacks only the first images, for profiling.)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include "farbound/attack/pgd.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/random.hpp"
#include "farbound/data/image_batcher.hpp"
#include "farbound/data/mnist.hpp"
#include "farbound/io/npy.hpp"
#include "farbound/nn/loss.hpp"
#include "farbound/nn/sequential.hpp"
#include "farbound/nn/zoo.hpp"
#include "farbound/optim/adam.hpp"
#include "support/driver.hpp"

namespace {
using namespace farbound;
using farbound::bench::cpu_name;
using farbound::bench::median;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The images of `data` as one float tensor [N, 1, 32, 32] in [0, 1], and their labels.
void load_all(const ImageDataset& data, std::int64_t limit, Tensor<float>& x, std::vector<int>& y) {
  std::vector<std::int64_t> all(std::size_t(std::min(limit, data.size())));
  std::iota(all.begin(), all.end(), 0);
  ImageBatcher<float>({.resize = ResizeMode::zero_pad}).load(data, all, 0, x, y);
}

void train(Sequential<float>& net, const ImageDataset& train_set, int epochs) {
  const std::int64_t batch = 64;
  Adam<float> adam(net.parameters(), 1e-3);
  ImageBatcher<float> batcher({.resize = ResizeMode::zero_pad});
  Tensor<float> x, grad_logits;
  std::vector<int> y;
  std::vector<std::int64_t> order(std::size_t(train_set.size()));
  for (int e = 0; e < epochs; ++e) {
    std::iota(order.begin(), order.end(), 0);
    const RandomStream shuffle(1, Purpose::shuffle, std::uint32_t(e));
    for (std::size_t i = order.size() - 1; i > 0; --i)
      std::swap(order[i], order[shuffle.below(i, std::uint32_t(i + 1))]);
    double loss = 0;
    std::int64_t steps = 0;
    for (std::size_t first = 0; first + batch <= order.size(); first += batch, ++steps) {
      batcher.load(train_set, std::span<const std::int64_t>(order).subspan(first, batch), std::uint32_t(e), x, y);
      adam.zero_grad();
      loss += cross_entropy<float>(net.forward(x.view()), y, grad_logits);
      net.backward(grad_logits.view());
      adam.step();
    }
    std::printf("  training epoch %d: mean loss %.4f\n", e + 1, loss / double(steps));
  }
}

struct Args {
  int threads = 2, runs = 5, train_epochs = 1;
  std::int64_t batch = 250, images = 10000;
  double eps = 0.1;
  std::string data = default_fashion_mnist_dir.string(), export_dir;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) throw argument_error("pgd_lenet: " + flag + " needs a value");
    const std::string v = argv[++i];
    if (flag == "--threads")
      a.threads = std::stoi(v);
    else if (flag == "--runs")
      a.runs = std::stoi(v);
    else if (flag == "--batch")
      a.batch = std::stoll(v);
    else if (flag == "--eps")
      a.eps = std::stod(v);
    else if (flag == "--images")
      a.images = std::stoll(v);
    else if (flag == "--train-epochs")
      a.train_epochs = std::stoi(v);
    else if (flag == "--data")
      a.data = v;
    else if (flag == "--export")
      a.export_dir = v;
    else
      throw argument_error("pgd_lenet: unknown flag " + flag);
  }
  if (a.threads < 1 || a.runs < 1 || a.batch < 1 || a.images < 1 || a.train_epochs < 0)
    throw argument_error("pgd_lenet: --threads, --runs, --batch and --images must be >= 1, --train-epochs >= 0");
  return a;
}

}  // namespace

int main(int argc, char** argv) try {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress lines appear as they happen, also in a pipe
  const Args args = parse(argc, argv);
  set_threads(args.threads);
  std::printf("PGD-20 Linf on LeNet (sigmoid), Fashion-MNIST test set, float, %d threads on %s\n", args.threads,
              cpu_name().c_str());

  ModelSpec spec;  // the zoo's LeNet (sigmoid), normalised for Fashion-MNIST
  spec.mean = {0.2860};
  spec.stddev = {0.3530};
  Sequential<float> net = build_model<float>(spec, 27432);
  if (args.train_epochs > 0) train(net, load_fashion_mnist(DataPart::train, args.data), args.train_epochs);

  Tensor<float> x;
  std::vector<int> y;
  load_all(load_fashion_mnist(DataPart::test, args.data), args.images, x, y);
  const std::int64_t n = x.size(0);

  Pgd<float> pgd({.norm = Norm::linf, .steps = 20, .seed = 1, .batch_size = args.batch});
  Tensor<float> adv;
  // Clean accuracy: PGD at eps 0 leaves every image where it is.
  pgd.run(net, x.view(), y, 0.0, adv);
  const double clean = 1.0 - double(std::accumulate(pgd.fooled().begin(), pgd.fooled().end(), 0)) / double(n);

  std::vector<double> seconds;
  double robust = 0;
  for (int r = 0; r < args.runs; ++r) {
    const auto t0 = Clock::now();
    pgd.run(net, x.view(), y, args.eps, adv);
    seconds.push_back(seconds_since(t0));
    robust = 1.0 - double(std::accumulate(pgd.fooled().begin(), pgd.fooled().end(), 0)) / double(n);
    std::printf("  run %d: %.2f s, %.1f images/s\n", r + 1, seconds.back(), double(n) / seconds.back());
  }
  const double images_per_s = double(n) / median(seconds);
  std::printf("  clean accuracy %.4f, robust accuracy at eps %g: %.4f\n", clean, args.eps, robust);
  std::printf("  farbound: median %.2f s per %lld images -> %.1f images/s (batch %lld)\n", median(seconds),
              static_cast<long long>(n), images_per_s, static_cast<long long>(args.batch));

  if (!args.export_dir.empty()) {
    const std::filesystem::path dir = args.export_dir;
    std::filesystem::create_directories(dir);
    for (std::size_t i = 0; i < net.size(); ++i) {
      std::vector<Parameter<float>*> ps;
      net.layer(i).collect_parameters(ps);
      for (auto* p : ps) write_npy(dir / (std::to_string(i) + "." + p->name + ".npy"), p->value);
    }
    write_npy(dir / "images.npy", x);
    Tensor<std::uint8_t> labels({n});
    for (std::int64_t i = 0; i < n; ++i) labels[i] = std::uint8_t(y[std::size_t(i)]);
    write_npy(dir / "labels.npy", labels);
    std::ofstream json(dir / "farbound.json");
    json << "{\"images_per_s\": " << images_per_s << ", \"clean_accuracy\": " << clean
         << ", \"robust_accuracy\": " << robust << ", \"eps\": " << args.eps << ", \"batch\": " << args.batch
         << ", \"threads\": " << args.threads << ", \"runs\": " << args.runs << "}\n";
    std::printf("  exported weights, images, labels and results to %s\n", dir.c_str());
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "pgd_lenet: %s\n", e.what());
  return 2;
}
