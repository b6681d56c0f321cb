// farbound-quickstart: the library in forty lines. Trains a small MLP on two moons, once
// with plain cross-entropy and once with the data-sparsity framework (an unlabelled cloud
// around the data, K neighbours per anchor, the smoothness loss), and prints what changed.
#include <cstdio>

#include "farbound/data/toy.hpp"
#include "farbound/nn/zoo.hpp"
#include "farbound/train/batch_source.hpp"
#include "farbound/train/evaluate.hpp"
#include "farbound/train/trainer.hpp"

int main() {
  using namespace farbound;
  const Dataset<float> moons = two_moons<float>(400, /*seed=*/1);  // [400, 2] points, labels 0/1

  // A 2-32-32-2 MLP; the two coordinates are the "channels" of its leading Normalize layer.
  const ModelSpec spec{.arch = "mlp", .activation = "tanh", .in_channels = 2, .image_size = 1, .num_classes = 2,
                       .hidden = {32, 32}, .mean = {0.5, 0.25}, .stddev = {0.9, 0.5}};

  for (const bool framework : {false, true}) {
    TrainConfig config;
    config.num_epochs = 30;
    config.batch_size = 32;
    config.lr = 1e-2;
    if (framework) {
      config.grad_reg_lambda = 0.1;           // weight of the smoothness loss
      config.num_unlabeled_per_labeled = 2;   // Nu unlabelled points per labelled point ...
      config.unlabeled_noise_std = 0.2;       // ... drawn at x + N(0, 0.2^2 I)
      config.num_neighbor_per_anchor = 2;     // K neighbours per anchor ...
      config.neighbor_noise_std = 0.03;       // ... at x + N(0, 0.03^2 I)
    }
    Sequential<float> model = build_model<float>(spec, /*seed=*/7);
    Trainer<float> trainer(model, config, plain_source<float>(moons));
    EpochStats stats;
    while (!trainer.finished()) stats = trainer.run_epoch();

    const Evaluation e = evaluate(model, plain_source<float>(moons));
    std::printf("%-28s accuracy %.1f%%  smoothness term %.3g  (%.0f anchors/s)\n",
                framework ? "with the framework:" : "plain cross-entropy:", 100 * e.accuracy, stats.regulariser,
                stats.anchors_per_second);
  }
}
