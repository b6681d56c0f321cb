// farbound-train: train a zoo model on an image data set, with plain cross-entropy or the
// data-sparsity framework (unlabelled cloud + neighbours + smoothness loss) and its
// baselines (Jacobian regularisation, FGSM, PGD and TRADES adversarial training, noise injection).
//
//   farbound-train --model lenet --activation relu --num-epochs 5 --out lenet.safetensors
//   farbound-train --grad-reg-lambda 1e4 --num-unlabeled-per-labeled 1 --num-neighbor-per-anchor 1
//                  --unlabeled-noise-std 0.05 --neighbor-noise-std 0.005 --out gr.safetensors
//
// Every epoch it evaluates the validation split (and the test set with --test), prints a
// line (a progress bar on a terminal), appends a JSON line to --log and, every
// --checkpoint-every epochs, writes a resumable checkpoint. Under `mpirun -np N` (built
// with MPI) the N ranks share every batch's --shards and give the weights of one rank
// bitwise (docs/cli.md). Units: inputs are [0,1] pixels, so the noise
// standard deviations and epsilon are in pixel units (docs/hyperparameters.md converts
// the paper's normalised values).
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "farbound/train/evaluate.hpp"
#include "support/cli.hpp"
#include "support/datasets.hpp"
#include "support/flags.hpp"
#include "support/train_flags.hpp"
#include "support/train_ranks.hpp"
#include "support/train_run.hpp"

int main(int argc, char** argv) {
  examples::wait_passively(argv);
  examples::TrainRanks ranks(argc, argv);
  using namespace farbound;
  CLI::App app{"Train a farbound model on an image data set", "farbound-train"};
  app.option_defaults()->always_capture_default();

  examples::TrainRun run;
  std::string data_dir, config_file;
  int threads = 0;
  TrainConfig flags;

  app.add_option("--dataset", run.dataset, "fashion-mnist, mnist or cifar10")
      ->check(CLI::IsMember({"fashion-mnist", "mnist", "cifar10"}));
  app.add_option("--data-dir", data_dir, "directory of the data files (default for fashion-mnist: Debian's)");
  app.add_option("--model", run.model, "lenet, mlp or resnet9")->check(CLI::IsMember({"lenet", "mlp", "resnet9"}));
  app.add_option("--activation", run.activation, "relu, leaky_relu, sigmoid, tanh, celu, softplus or mish")
      ->check(CLI::IsMember({"relu", "leaky_relu", "sigmoid", "tanh", "celu", "softplus", "mish"}));
  app.add_option("--hidden", run.hidden, "hidden widths of the mlp")->delimiter(',')->check(examples::integer_in<std::int64_t>(1, 65536));
  app.add_option("--num-train", run.num_train, "training images per class")->check(examples::count_or_all(1, 10000000));
  app.add_option("--num-val", run.num_val, "validation images per class (0: no validation)")
      ->check(examples::count_or_all(0, 10000000));
  app.add_option("--val-fraction", run.val_fraction, "fraction of each class held out for validation")
      ->check(examples::number_in(0.0, 0.9));
  app.add_option("--config", config_file, "JSON file of training settings (snake_case keys); flags given too win");
  examples::add_train_config_flags(app, flags);
  app.add_option("--threads", threads, "OpenMP threads (0: OpenMP's default, or under mpirun the cores shared among the ranks; more than " +
                                           std::to_string(examples::max_threads) + " are capped)")
      ->check(examples::integer_in(0, 1 << 20));
  app.add_option("--log", run.log_file, "JSON Lines log, one object per epoch");
  app.add_option("--out", run.out_file, "where to save the final model");
  app.add_option("--checkpoint", run.checkpoint_file, "resumable checkpoint file (written every --checkpoint-every epochs)");
  app.add_option("--resume", run.resume_file, "continue from this checkpoint (model, data selection and settings must match)");
  app.add_flag("--test", run.test, "also evaluate the test set every epoch");

  return ranks.finish(examples::run(app, argc, argv, [&] {
    examples::apply_threads(threads > 0 ? threads : ranks.default_threads(), app.get_name());
    run.config = examples::resolve_train_config(app, flags, config_file);
    examples::check_output_file("--out", run.out_file);
    if (!run.checkpoint_file.empty()) examples::check_output_file("--checkpoint", run.checkpoint_file);
    if (!run.log_file.empty()) examples::check_output_file("--log", run.log_file);

    const examples::ImageData data = examples::load_image_data(run.dataset, data_dir);
    run.label = "farbound-train: ";
    run.rank = ranks.rank();
    run.ranks = ranks.size();
    run.gradient_sum = ranks.gradient_sum();
    examples::TrainedModel trained = examples::train_model(run, data);
    if (ranks.rank() != 0) return 0;
    const auto test = image_source<float>(data.test, examples::image_options(data.test));
    std::printf("test accuracy %.2f%%\n", 100 * evaluate(trained.model, test).accuracy);
    std::printf("saved %s\n", run.out_file.c_str());
    return 0;
  }));
}
