// A data-parallel step (TrainingLoop with a GradientSum of S shards) trains on the same loss
// as the single-batch step: every term divides by the whole step's B, not the shard's, so the
// S shards' gradients add up to the batch's, up to rounding. One process with S = 4 against
// S = 1, one epoch of SGD (no momentum, so the step is linear in the gradient), for every
// objective whose examples do not depend on the shard cut (PGD's random starts are keyed by
// the row within the shard, so PGD is checked across ranks only, bitwise, in tests/mpi).
// That N MPI ranks give the bits of one process is tests/mpi/train.sh's.
#include "farbound/train/trainer.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "farbound/data/toy.hpp"
#include "farbound/nn/dropout.hpp"
#include "farbound/nn/zoo.hpp"
#include "support/flat_parameters.hpp"

using namespace farbound;

namespace {

struct ShardedRun {
  std::vector<double> initial, weights;
  EpochStats stats;
};

ShardedRun train_sharded(TrainConfig c, int shards) {
  const auto data = two_clusters<double>(40, 4);
  const ModelSpec spec{.arch = "mlp", .activation = "tanh", .in_channels = 2, .image_size = 1, .num_classes = 2,
                       .hidden = {8}, .mean = {0.0, 0.0}, .stddev = {1.0, 1.0}};
  Sequential<double> model = build_model<double>(spec, 9);
  c.shards = shards;
  Trainer<double> trainer(model, c, plain_source<double>(data));
  ShardedRun run;
  run.initial = testing::flat_parameters(model);
  run.stats = trainer.run_epoch();
  run.weights = testing::flat_parameters(model);
  return run;
}

TrainConfig sgd_config() {
  TrainConfig c;
  c.optimizer = "sgd";
  c.momentum = 0;
  c.lr = 0.5;
  c.batch_size = 16;
  c.num_epochs = 1;
  c.seed = 3;
  c.epsilon = 0.2;
  c.input_min = -10;
  c.input_max = 10;
  return c;
}

TrainConfig with_smoothness(TrainConfig c) {
  c.grad_reg_lambda = 0.5;
  c.num_unlabeled_per_labeled = 1;
  c.unlabeled_noise_std = 0.3;
  c.num_neighbor_per_anchor = 2;
  c.neighbor_noise_std = 0.05;
  return c;
}

}  // namespace

TEST_CASE("S shards of a step add up to the whole batch's gradient for every objective", "[trainer][shards]") {
  TrainConfig plain = sgd_config(), smooth = with_smoothness(sgd_config()), jacobian = smooth, fgsm = smooth, trades = smooth;
  jacobian.jacobian = true;
  fgsm.adversarial = "fgsm";
  trades.adversarial = "trades";
  trades.adv_steps = 2;
  const std::vector<std::pair<std::string, TrainConfig>> objectives{
      {"cross-entropy", plain}, {"smoothness", smooth}, {"jacobian", jacobian}, {"fgsm + smoothness", fgsm}, {"trades + smoothness", trades}};
  for (const auto& [name, config] : objectives) {
    INFO(name);
    const ShardedRun one = train_sharded(config, 1), four = train_sharded(config, 4);
    double moved = 0, apart = 0;
    for (std::size_t i = 0; i < one.weights.size(); ++i) {
      moved = std::max(moved, std::abs(one.weights[i] - one.initial[i]));
      apart = std::max(apart, std::abs(one.weights[i] - four.weights[i]));
    }
    CHECK(moved > 1e-3);        // the epoch trained
    CHECK(apart < 1e-9);  // and 4 shards trained the same, to rounding
    CHECK(four.stats.loss == Approx(one.stats.loss).epsilon(1e-12));
    CHECK(four.stats.regulariser == Approx(one.stats.regulariser).epsilon(1e-12).margin(1e-15));
    CHECK(four.stats.train_accuracy == one.stats.train_accuracy);
    CHECK(four.stats.anchors == one.stats.anchors);
  }
}

TEST_CASE("the shard count must fit the batch, the gradient sum and the model", "[trainer][shards][errors]") {
  const auto data = two_clusters<double>(32, 1);
  const ModelSpec spec{.arch = "mlp", .activation = "tanh", .in_channels = 2, .image_size = 1, .num_classes = 2,
                       .hidden = {4}, .mean = {0.0, 0.0}, .stddev = {1.0, 1.0}};
  Sequential<double> model = build_model<double>(spec, 1);
  TrainConfig c = sgd_config();
  c.shards = 17;  // batch 16
  CHECK_THROWS_WITH(Trainer<double>(model, c, plain_source<double>(data)), Catch::Contains("shards must be <= batch_size"));
  c.shards = 4;
  CHECK_THROWS_WITH(Trainer<double>(model, c, plain_source<double>(data), std::make_unique<LocalGradientSum<double>>(2)),
                    Catch::Contains("the gradient sum has 2 shards, the config 4"));
  // Dropout keys its masks by the element's place in the forward's batch: every shard would
  // draw the first rows' masks. One shard, or no dropping, is fine.
  model.add<Dropout<double>>(0.5);
  CHECK_THROWS_WITH(Trainer<double>(model, c, plain_source<double>(data)),
                    Catch::Contains("keys random numbers by a row's place in the batch (Dropout)"));
  c.shards = 1;
  CHECK_NOTHROW(Trainer<double>(model, c, plain_source<double>(data)));
  Sequential<double> undropped = build_model<double>(spec, 1);
  undropped.add<Dropout<double>>(0.0);
  c.shards = 4;
  CHECK_NOTHROW(Trainer<double>(undropped, c, plain_source<double>(data)));
}
