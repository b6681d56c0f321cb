// One PGD-10 adversarial training step (Madry et al.) on LeNet at batch 64: the library's
// TrainingLoop as farbound-train runs `--adversarial pgd --adv-steps 10 --clean-weight 0
// --adv-ratio 1`: PGD-10 L-inf (eps 0.1, random start) on the batch in eval mode, then one
// forward and backward in train mode and one Adam step. Random [0, 1] images and labels
// (the speed does not depend on the pixels). benchmarks/adversarial_step_torch.py is the same
// step in PyTorch.
//
// Usage: adversarial_step [threads = 2] [runs = 5] [steps per run = 4]
#include <cstdio>
#include <vector>

#include "farbound/core/parallel.hpp"
#include "farbound/core/random.hpp"
#include "farbound/nn/zoo.hpp"
#include "farbound/train/trainer.hpp"
#include "support/driver.hpp"

int main(int argc, char** argv) {
  using namespace farbound;
  using namespace farbound::bench;
  const std::vector<int> args = positive_args(argc, argv, {2, 5, 4}, "adversarial_step [threads] [runs] [steps per run]");
  if (args.empty()) return 2;
  const int threads = args[0], runs = args[1], steps = args[2];
  set_threads(threads);
  const std::int64_t batch = 64, items = batch * steps, pixels = 32 * 32;

  std::vector<float> images(std::size_t(items * pixels));
  std::vector<int> labels(static_cast<std::size_t>(items));
  RandomStream(1, Purpose::user).uniform(std::span<float>(images));
  for (std::int64_t i = 0; i < items; ++i) labels[std::size_t(i)] = int(i % 10);
  const BatchSource<float> source{items, 10, Shape{1, 1, 32, 32}, labels,
                                  [&](std::span<const std::int64_t> idx, std::uint32_t, Tensor<float>& x, std::vector<int>& y) {
                                    x.resize({std::int64_t(idx.size()), 1, 32, 32});
                                    y.resize(idx.size());
                                    for (std::size_t b = 0; b < idx.size(); ++b) {
                                      std::copy_n(images.data() + idx[b] * pixels, pixels, x.data() + std::int64_t(b) * pixels);
                                      y[b] = labels[std::size_t(idx[b])];
                                    }
                                  }};
  TrainConfig cfg;
  cfg.adversarial = "pgd";
  cfg.adv_steps = 10;
  cfg.clean_weight = 0;
  cfg.adv_ratio = 1;
  cfg.batch_size = int(batch);
  cfg.num_epochs = runs + 1;
  ModelSpec spec;
  spec.activation = "relu";
  Sequential<float> model = build_model<float>(spec, 1);
  Trainer<float> trainer(model, cfg, source);
  trainer.run_epoch();  // workspaces
  std::vector<double> step_s;
  for (int r = 0; r < runs; ++r) step_s.push_back(trainer.run_epoch().seconds / double(steps));
  std::printf("PGD-10 adversarial training step, LeNet/ReLU, batch %lld, float, %d threads on %s\n", (long long)batch,
              threads, cpu_name().c_str());
  print_run_conditions();
  const double t = median(step_s);
  std::printf("  step: median %.1f ms over %d runs of %d steps -> %.1f images/s\n", t * 1e3, runs, steps, double(batch) / t);
  std::printf("RESULT farbound adversarial_step threads=%d ms=%.2f images_per_s=%.2f\n", threads, t * 1e3, double(batch) / t);
  return 0;
}
