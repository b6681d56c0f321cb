// farbound-train: train a zoo model on an image data set, with plain cross-entropy or the
// data-sparsity framework (unlabelled cloud + neighbours + smoothness loss) and its
// baselines (Jacobian regularisation, FGSM adversarial training, noise injection).
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
#include "farbound/data/split.hpp"
#include "farbound/io/model_file.hpp"
#include "farbound/nn/zoo.hpp"
#include "farbound/train/evaluate.hpp"
#include "farbound/train/progress.hpp"
#include "farbound/train/trainer.hpp"
#include "support/cli.hpp"
#include "support/datasets.hpp"

int main(int argc, char** argv) {
  using namespace farbound;
  CLI::App app{"Train a farbound model on an image data set", "farbound-train"};
  app.option_defaults()->always_capture_default();

  std::string dataset = "fashion-mnist", data_dir, model_name = "lenet", activation = "sigmoid";
  std::string config_file, log_file, out_file = "model.safetensors", checkpoint_file, resume_file;
  int num_train = -1, num_val = -1, threads = 0;
  double val_fraction = 0.2;
  // --flag-name of a TrainConfig JSON key (snake_case).
  const auto flag_of = [](std::string key) {
    std::replace(key.begin(), key.end(), '_', '-');
    return "--" + key;
  };
  bool test = false;
  TrainConfig cfg;

  app.add_option("--dataset", dataset, "fashion-mnist, mnist or cifar10");
  app.add_option("--data-dir", data_dir, "directory of the data files (default for fashion-mnist: Debian's)");
  app.add_option("--model", model_name, "lenet, mlp or resnet9")->check(CLI::IsMember({"lenet", "mlp", "resnet9"}));
  app.add_option("--activation", activation, "relu, leaky_relu, sigmoid, tanh, celu, softplus or mish")
      ->check(CLI::IsMember({"relu", "leaky_relu", "sigmoid", "tanh", "celu", "softplus", "mish"}));
  std::vector<std::int64_t> hidden{256, 128};
  app.add_option("--hidden", hidden, "hidden widths of the mlp")->delimiter(',');
  app.add_option("--num-train", num_train, "training images per class (-1: all of the split)");
  app.add_option("--num-val", num_val, "validation images per class (-1: all of the split)");
  app.add_option("--val-fraction", val_fraction, "fraction of each class held out for validation")
      ->check(CLI::Range(0.0, 0.9));
  app.add_option("--config", config_file, "JSON file of training settings (snake_case keys); flags given too win");
  app.add_option("--grad-reg-lambda", cfg.grad_reg_lambda, "lambda of the smoothness (or Jacobian) regulariser")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--num-unlabeled-per-labeled", cfg.num_unlabeled_per_labeled, "Nu")->check(CLI::NonNegativeNumber);
  app.add_option("--unlabeled-noise-std", cfg.unlabeled_noise_std, "sigma_u (pixel units)")->check(CLI::NonNegativeNumber);
  app.add_option("--num-neighbor-per-anchor", cfg.num_neighbor_per_anchor, "K")->check(CLI::NonNegativeNumber);
  app.add_option("--neighbor-noise-std", cfg.neighbor_noise_std, "sigma_n (pixel units)")->check(CLI::NonNegativeNumber);
  app.add_flag("--adversarial", cfg.adversarial, "FGSM adversarial training on the labelled anchors");
  app.add_option("--epsilon", cfg.epsilon, "FGSM step (L-inf, pixel units)")->check(CLI::NonNegativeNumber);
  app.add_option("--adv-ratio", cfg.adv_ratio, "weight r of the adversarial cross-entropy")->check(CLI::NonNegativeNumber);
  app.add_flag("--jacobian", cfg.jacobian, "Jacobian regularisation instead of the smoothness loss");
  app.add_option("--inject-noise", cfg.inject_noise, "draw the noise at this layer's input instead of the image (-1: off)");
  app.add_option("--optimizer", cfg.optimizer, "adam, adamw or sgd")->check(CLI::IsMember({"adam", "adamw", "sgd"}));
  app.add_option("--lr", cfg.lr, "base learning rate")->check(CLI::NonNegativeNumber);
  app.add_option("--weight-decay", cfg.weight_decay, "L2 weight decay (decoupled for adamw)")->check(CLI::NonNegativeNumber);
  app.add_option("--momentum", cfg.momentum, "sgd momentum")->check(CLI::NonNegativeNumber);
  app.add_option("--linear-epoch", cfg.linear_epoch, "epochs at constant lr before the cosine decay");
  app.add_option("--num-epochs", cfg.num_epochs, "epochs")->check(CLI::PositiveNumber);
  app.add_option("--batch-size", cfg.batch_size, "anchors per step (1 = the reference)")->check(CLI::PositiveNumber);
  app.add_option("--seed", cfg.seed, "seed of the split, initialisation and all noise");
  app.add_option("--log-freq", cfg.log_freq, "write the checkpoint every this many epochs")->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "OpenMP threads (0: OpenMP's default)")->check(CLI::NonNegativeNumber);
  app.add_option("--log", log_file, "JSON Lines log, one object per epoch");
  app.add_option("--out", out_file, "where to save the final model");
  app.add_option("--checkpoint", checkpoint_file, "resumable checkpoint file (written every --log-freq epochs)");
  app.add_option("--resume", resume_file, "continue from this checkpoint");
  app.add_flag("--test", test, "also evaluate the test set every epoch");

  return examples::run(app, argc, argv, [&] {
    if (threads > 0) set_threads(threads);
    if (!config_file.empty()) {
      // The file first, then every flag given on the command line over it.
      std::ifstream in(config_file);
      if (!in) throw io_error(config_file + ": cannot open");
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(in);
      } catch (const nlohmann::json::exception& e) {
        throw io_error(config_file + ": not valid JSON: " + e.what());
      }
      TrainConfig from_file;
      update_from_json(from_file, j);
      nlohmann::json flags = cfg, merged = from_file;
      for (const auto& item : flags.items())
        if (app.count(flag_of(item.key())) > 0) merged[item.key()] = item.value();
      cfg = merged.get<TrainConfig>();
    }
    cfg.validate();

    // Data: a stratified train/validation split of the training set.
    examples::ImageData data = examples::load_image_data(dataset, data_dir);
    const TrainValSplit split = stratified_split(data.train.labels(), data.train.num_classes(), cfg.seed,
                                                 SplitOptions{.train_fraction = 1 - val_fraction, .train_per_class = num_train, .val_per_class = num_val});
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
                           std::to_string(model.size()) + " layers");

    Trainer<float> trainer(model, cfg, train);
    if (!resume_file.empty()) trainer.load_checkpoint(resume_file);
    std::printf("farbound-train: %s on %s, %lld training / %lld validation images, %d threads\n", model_name.c_str(),
                dataset.c_str(), static_cast<long long>(train_set.size()), static_cast<long long>(val_set.size()),
                max_threads());

    std::ofstream log;
    if (!log_file.empty()) {
      log.open(log_file, std::ios::app);
      if (!log) throw io_error(log_file + ": cannot open for appending");
    }
    ProgressBar bar;
    const std::map<std::string, std::string> model_meta{{"farbound.model_spec", model_spec_to_json(spec)}};
    while (!trainer.finished()) {
      const std::string label = "epoch " + std::to_string(trainer.epoch() + 1) + "/" + std::to_string(cfg.num_epochs);
      const EpochStats s = trainer.run_epoch([&](const StepProgress& p) {
        bar.update(label, p.step, p.steps, "loss " + std::to_string(p.loss));
      });
      bar.clear();
      const Evaluation v = evaluate(model, val);
      nlohmann::json line = {{"epoch", s.epoch + 1},      {"ce", s.cross_entropy},      {"gr", s.regulariser},
                             {"loss", s.loss},            {"train_acc", s.train_accuracy}, {"val_loss", v.loss},
                             {"val_acc", v.accuracy},     {"lr", s.lr},                 {"anchors_per_s", s.anchors_per_second}};
      std::printf("%s: ce %.4f gr %.4g train %.2f%% val %.2f%%", label.c_str(), s.cross_entropy, s.regulariser,
                  100 * s.train_accuracy, 100 * v.accuracy);
      if (test) {
        const Evaluation t = evaluate(model, test_source);
        line["test_acc"] = t.accuracy;
        std::printf(" test %.2f%%", 100 * t.accuracy);
      }
      std::printf(" (%.0f anchors/s)\n", s.anchors_per_second);
      std::fflush(stdout);
      if (log) log << line.dump() << '\n' << std::flush;
      if (!checkpoint_file.empty() && (trainer.epoch() % std::uint32_t(cfg.log_freq) == 0 || trainer.finished()))
        trainer.save_checkpoint(checkpoint_file, model_meta);
    }
    const Evaluation t = evaluate(model, test_source);
    std::printf("test accuracy %.2f%%\n", 100 * t.accuracy);
    save_model(out_file, model, spec, {{"farbound.train_config", nlohmann::json(cfg).dump()}});
    std::printf("saved %s\n", out_file.c_str());
    return 0;
  });
}
