// farbound-train: train a zoo model on an image data set, with plain cross-entropy or the
// data-sparsity framework (unlabelled cloud + neighbours + smoothness loss) and its
// baselines (Jacobian regularisation, FGSM, PGD and TRADES adversarial training, noise injection).
//
//   farbound-train --model lenet --activation relu --num-epochs 5 --out lenet.safetensors
//   farbound-train --grad-reg-lambda 1e4 --num-unlabeled-per-labeled 1 --num-neighbor-per-anchor 1
//                  --unlabeled-noise-std 0.05 --neighbor-noise-std 0.005 --out gr.safetensors
//
// Every epoch it evaluates the validation split (and the test set with --test), prints a
// line (a progress bar on a terminal), appends a JSON line to --log and, every --log-freq
// epochs, writes a resumable checkpoint. Units: inputs are [0,1] pixels, so the noise
// standard deviations and epsilon are in pixel units (docs/hyperparameters.md converts
// the paper's normalised values).
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "farbound/core/parallel.hpp"
#include "farbound/io/model_file.hpp"
#include "farbound/nn/zoo.hpp"
#include "farbound/train/evaluate.hpp"
#include "farbound/train/progress.hpp"
#include "farbound/train/run.hpp"
#include "farbound/train/trainer.hpp"
#include "support/cli.hpp"
#include "support/datasets.hpp"
#include "support/flags.hpp"
#include "support/train_flags.hpp"

int main(int argc, char** argv) {
  using namespace farbound;
  CLI::App app{"Train a farbound model on an image data set", "farbound-train"};
  app.option_defaults()->always_capture_default();

  std::string dataset = "fashion-mnist", data_dir, model_name = "lenet", activation = "sigmoid";
  std::string config_file, log_file, out_file = "model.safetensors", checkpoint_file, resume_file;
  std::int64_t num_train = -1, num_val = -1;
  int threads = 0;
  double val_fraction = 0.2;
  bool test = false;
  TrainConfig flags;

  app.add_option("--dataset", dataset, "fashion-mnist, mnist or cifar10")
      ->check(CLI::IsMember({"fashion-mnist", "mnist", "cifar10"}));
  app.add_option("--data-dir", data_dir, "directory of the data files (default for fashion-mnist: Debian's)");
  app.add_option("--model", model_name, "lenet, mlp or resnet9")->check(CLI::IsMember({"lenet", "mlp", "resnet9"}));
  app.add_option("--activation", activation, "relu, leaky_relu, sigmoid, tanh, celu, softplus or mish")
      ->check(CLI::IsMember({"relu", "leaky_relu", "sigmoid", "tanh", "celu", "softplus", "mish"}));
  std::vector<std::int64_t> hidden{256, 128};
  app.add_option("--hidden", hidden, "hidden widths of the mlp")->delimiter(',')->check(examples::integer_in<std::int64_t>(1, 65536));
  app.add_option("--num-train", num_train, "training images per class")->check(examples::count_or_all(1, 10000000));
  app.add_option("--num-val", num_val, "validation images per class (0: no validation)")
      ->check(examples::count_or_all(0, 10000000));
  app.add_option("--val-fraction", val_fraction, "fraction of each class held out for validation")
      ->check(examples::number_in(0.0, 0.9));
  app.add_option("--config", config_file, "JSON file of training settings (snake_case keys); flags given too win");
  examples::add_train_config_flags(app, flags);
  app.add_option("--threads", threads, "OpenMP threads (0: OpenMP's default; more than " +
                                           std::to_string(examples::max_threads) + " are capped)")
      ->check(examples::integer_in(0, 1 << 20));
  app.add_option("--log", log_file, "JSON Lines log, one object per epoch");
  app.add_option("--out", out_file, "where to save the final model");
  app.add_option("--checkpoint", checkpoint_file, "resumable checkpoint file (written every --log-freq epochs)");
  app.add_option("--resume", resume_file, "continue from this checkpoint (model, data selection and settings must match)");
  app.add_flag("--test", test, "also evaluate the test set every epoch");

  return examples::run(app, argc, argv, [&] {
    examples::apply_threads(threads, app.get_name());
    const TrainConfig cfg = examples::resolve_train_config(app, flags, config_file);
    examples::check_output_file("--out", out_file);
    if (!checkpoint_file.empty()) examples::check_output_file("--checkpoint", checkpoint_file);
    if (!log_file.empty()) examples::check_output_file("--log", log_file);

    // Data: a stratified train/validation split of the training set.
    examples::ImageData data = examples::load_image_data(dataset, data_dir);
    const TrainValSplit split = examples::split_for_training(data.train, cfg.seed, val_fraction, num_train, num_val);
    const ImageDataset train_set = data.train.subset(split.train), val_set = data.train.subset(split.val);
    const ImageBatchOptions images = examples::image_options(data.train);
    data.train = {};  // the split owns its copies; drop the full set (47 MB for Fashion-MNIST)
    const BatchSource<float> train = image_source<float>(train_set, images), val = image_source<float>(val_set, images),
                             test_source = image_source<float>(data.test, images);

    ModelSpec spec = data.spec;
    spec.arch = model_name;
    spec.activation = activation;
    spec.hidden = hidden;
    Sequential<float> model = build_model<float>(spec, cfg.seed);
    if (cfg.inject_noise >= std::int64_t(model.size()))
      throw argument_error("--inject-noise " + std::to_string(cfg.inject_noise) + " is beyond the model's " +
                           std::to_string(model.size()) + " layers (allowed: [-1, " + std::to_string(model.size() - 1) + "])");

    // What a checkpoint must share with this run besides the settings.
    const std::map<std::string, std::string> model_meta{
        {"farbound.model_spec", model_spec_to_json(spec)},
        {"farbound.data_selection", nlohmann::json{{"dataset", dataset}, {"num_train", num_train}, {"num_val", num_val},
                                                   {"val_fraction", val_fraction}}.dump()}};
    Trainer<float> trainer(model, cfg, train);
    if (!resume_file.empty()) examples::resume(trainer, resume_file, model_meta);
    std::printf("farbound-train: %s on %s, %lld training / %lld validation images, %d threads\n", model_name.c_str(),
                dataset.c_str(), static_cast<long long>(train_set.size()), static_cast<long long>(val_set.size()),
                max_threads());

    std::ofstream log;
    if (!log_file.empty()) {
      log.open(log_file, std::ios::app);
      if (!log) throw io_error(log_file + ": cannot open for appending");
    }
    ProgressBar bar;
    const auto label = [&] { return "epoch " + std::to_string(trainer.epoch() + 1) + "/" + std::to_string(cfg.num_epochs); };
    TrainingRunOptions run{.checkpoint = checkpoint_file, .metadata = model_meta};
    run.on_step = [&](const StepProgress& p) { bar.update(label(), p.step, p.steps, "loss " + std::to_string(p.loss)); };
    run.on_epoch = [&](const EpochStats& s) {
      bar.clear();
      nlohmann::json line = {{"epoch", s.epoch + 1}, {"ce", s.cross_entropy},        {"gr", s.regulariser},
                             {"loss", s.loss},       {"train_acc", s.train_accuracy}, {"lr", s.lr},
                             {"anchors_per_s", s.anchors_per_second}};
      std::printf("epoch %u/%d: ce %.4f gr %.4g train %.2f%%", s.epoch + 1, cfg.num_epochs, s.cross_entropy, s.regulariser,
                  100 * s.train_accuracy);
      if (val.size > 0) {  // --num-val 0: no validation split, so no validation numbers
        const Evaluation v = evaluate(model, val);
        line["val_loss"] = v.loss;
        line["val_acc"] = v.accuracy;
        std::printf(" val %.2f%%", 100 * v.accuracy);
      }
      if (test) {
        const Evaluation t = evaluate(model, test_source);
        line["test_acc"] = t.accuracy;
        std::printf(" test %.2f%%", 100 * t.accuracy);
      }
      std::printf(" (%.0f anchors/s)\n", s.anchors_per_second);
      std::fflush(stdout);
      if (log) log << line.dump() << '\n' << std::flush;
    };
    train_to_completion(trainer, run);
    const Evaluation t = evaluate(model, test_source);
    std::printf("test accuracy %.2f%%\n", 100 * t.accuracy);
    save_model(out_file, model, spec, {{"farbound.train_config", nlohmann::json(cfg).dump()}});
    std::printf("saved %s\n", out_file.c_str());
    return 0;
  });
}
