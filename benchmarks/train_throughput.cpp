// Training throughput of the data-sparsity framework, in anchors per second: the step that
// benchmarks/train_throughput_torch.py runs in PyTorch, measured the same way.
//
// LeNet (sigmoid) on Fashion-MNIST images zero-padded to 32x32; Nu = 1 unlabelled copy per
// labelled image (sigma_u 0.05), K = 1 neighbour per anchor (sigma_n 0.005), lambda 1e4,
// Adam 1e-3. One epoch over `labelled` images is 2 * labelled anchors; each run trains one
// epoch and the median anchors/s over the runs is printed (the first epoch, which
// allocates the workspaces, is a warm-up and not counted). The step's rows are shared by
// `replicas` copies of the model (nn/replicas.hpp; one per thread by default), where there
// are at least 16 rows for each.
//
// Usage: train_throughput BATCH [threads = 2] [labelled] [runs = 5] [replicas = threads]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <vector>

#include "farbound/core/parallel.hpp"
#include "farbound/data/mnist.hpp"
#include "farbound/nn/zoo.hpp"
#include "farbound/train/trainer.hpp"

int main(int argc, char** argv) {
  using namespace farbound;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s BATCH [threads = 2] [labelled images] [runs = 5] [replicas = threads]\n", argv[0]);
    return 2;
  }
  const int batch = std::atoi(argv[1]);
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  const std::int64_t labelled = argc > 3 ? std::atoll(argv[3]) : (batch >= 64 ? 4096 : 256);
  const int runs = argc > 4 ? std::atoi(argv[4]) : 5;
  const int replica_count = argc > 5 ? std::atoi(argv[5]) : threads;
  if (batch < 1 || threads < 1 || labelled < 1 || runs < 1 || replica_count < 1) {
    std::fprintf(stderr, "%s: BATCH, threads, labelled, runs and replicas must be positive\n", argv[0]);
    return 2;
  }
  set_threads(threads);

  const ImageDataset all = load_fashion_mnist(DataPart::train);
  std::vector<std::int64_t> first(std::size_t(std::min<std::int64_t>(labelled, all.size())));
  std::iota(first.begin(), first.end(), 0);
  const ImageDataset data = all.subset(first);

  ModelSpec spec;  // LeNet, sigmoid, 1x32x32
  spec.mean = {0.2860};
  spec.stddev = {0.3530};
  Sequential<float> model = build_model<float>(spec, 1);
  std::vector<Sequential<float>> copies;  // the replicas besides the model
  for (int r = 1; r < replica_count; ++r) copies.push_back(build_model<float>(spec, 1));
  TrainConfig cfg;
  cfg.grad_reg_lambda = 1e4;
  cfg.num_unlabeled_per_labeled = 1;
  cfg.unlabeled_noise_std = 0.05;
  cfg.num_neighbor_per_anchor = 1;
  cfg.neighbor_noise_std = 0.005;
  cfg.batch_size = batch;
  cfg.num_epochs = runs + 1;
  cfg.lr = 1e-3;
  cfg.replicas = replica_count;
  ImageBatchOptions images;
  images.resize = ResizeMode::zero_pad;
  Trainer<float> trainer(model, cfg, image_source<float>(data, images), nullptr, copies);

  trainer.run_epoch();  // warm-up: workspaces are allocated here
  std::vector<double> rates;
  for (int r = 0; r < runs; ++r) rates.push_back(trainer.run_epoch().anchors_per_second);
  std::sort(rates.begin(), rates.end());
  std::printf("farbound train step: LeNet/sigmoid, K=1, Nu=1, batch %d, %d threads, %d replicas, %lld labelled: median %.0f "
              "anchors/s (min %.0f, max %.0f, %d runs)\n",
              batch, threads, replica_count, static_cast<long long>(data.size()), rates[rates.size() / 2], rates.front(),
              rates.back(), runs);
  return 0;
}
