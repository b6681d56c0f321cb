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
  examples::TrainFlags f;
  examples::add_train_flags(app, f);

  return ranks.finish(examples::run(app, argc, argv, [&] {
    examples::check_train_flags(app, f, ranks.default_threads());
    examples::TrainRun& run = f.run;
    const examples::ImageData data = examples::load_image_data(run.dataset, f.data_dir);
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
