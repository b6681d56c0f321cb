#pragma once
// One training run as farbound-train does it, callable: the data split, the model, the
// trainer (resumed from a checkpoint if asked), one line per epoch on stdout and in the JSON
// Lines log, a checkpoint every checkpoint_every epochs (train_to_completion), and the final
// model file. farbound-train runs one; farbound-sweep runs one per point of its grid. On MPI
// ranks (support/train_ranks.hpp) every rank trains its shards of each batch and rank 0
// alone prints and writes; every file is written whole and renamed into place (the log too),
// so a kill never leaves a torn one.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "farbound/core/parallel.hpp"
#include "farbound/distributed/gradient_sum.hpp"
#include "farbound/io/model_file.hpp"
#include "farbound/nn/zoo.hpp"
#include "farbound/train/evaluate.hpp"
#include "farbound/train/progress.hpp"
#include "farbound/train/run.hpp"
#include "farbound/train/trainer.hpp"
#include "support/datasets.hpp"
#include "support/train_config_flags.hpp"

namespace examples {

struct TrainRun {
  std::string dataset = "fashion-mnist", model = "lenet", activation = "sigmoid";
  std::vector<std::int64_t> hidden{256, 128};  // of the mlp
  std::int64_t num_train = -1, num_val = -1;    // per class; -1: all
  double val_fraction = 0.2;
  bool test = false;  // evaluate the test set every epoch too
  farbound::TrainConfig config;
  std::string log_file, out_file = "model.safetensors", checkpoint_file, resume_file;  // empty: none
  std::string label;  // printed before every line (farbound-sweep: the run's name)
  int rank = 0, ranks = 1;  // MPI ranks sharing the run (each trains its shards); only rank 0 prints and writes
  // The sum of the config's shards over the ranks; empty: every shard in this process.
  std::function<std::unique_ptr<farbound::GradientSum<float>>(std::int64_t shards)> gradient_sum;
};

// Appends one line to a text file by writing the whole new file beside it and renaming it
// over the old one.
inline void append_line_atomically(const std::string& path, const std::string& line) {
  std::string text;
  if (std::ifstream old(path, std::ios::binary); old) text.assign(std::istreambuf_iterator<char>(old), {});
  text += line + '\n';
  const std::string temporary = path + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw farbound::io_error(temporary + ": cannot write");
  }
  std::filesystem::rename(temporary, path);
}

struct TrainedModel {
  farbound::Sequential<float> model;
  farbound::ModelSpec spec;
};

// Trains `run` on `data` (loaded by the caller, so that a sweep loads it once) and saves the
// model to run.out_file.
inline TrainedModel train_model(const TrainRun& run, const ImageData& data) {
  using namespace farbound;
  const TrainConfig& cfg = run.config;
  const TrainValSplit split = split_for_training(data.train, cfg.seed, run.val_fraction, run.num_train, run.num_val);
  const ImageDataset train_set = data.train.subset(split.train), val_set = data.train.subset(split.val);
  const ImageBatchOptions images = image_options(data.train);
  const BatchSource<float> train = image_source<float>(train_set, images), val = image_source<float>(val_set, images),
                           test_source = image_source<float>(data.test, images);

  ModelSpec spec = data.spec;
  spec.arch = run.model;
  spec.activation = run.activation;
  spec.hidden = run.hidden;
  Sequential<float> model = build_model<float>(spec, cfg.seed);
  if (cfg.inject_noise >= std::int64_t(model.size()))
    throw argument_error("--inject-noise " + std::to_string(cfg.inject_noise) + " is beyond the model's " +
                         std::to_string(model.size()) + " layers (allowed: [-1, " + std::to_string(model.size() - 1) + "])");

  // What a checkpoint must share with this run besides the settings.
  const std::map<std::string, std::string> model_meta{
      {"farbound.model_spec", model_spec_to_json(spec)},
      {"farbound.data_selection", nlohmann::json{{"dataset", run.dataset}, {"num_train", run.num_train},
                                                 {"num_val", run.num_val}, {"val_fraction", run.val_fraction}}.dump()}};
  std::vector<Sequential<float>> copies;  // the config's replicas besides the model
  for (int r = 1; r < cfg.replicas; ++r) copies.push_back(build_model<float>(spec, cfg.seed));
  Trainer<float> trainer(model, cfg, train, run.gradient_sum ? run.gradient_sum(cfg.shards) : nullptr, copies);
  if (!run.resume_file.empty()) resume(trainer, run.resume_file, model_meta);
  if (run.rank != 0) {  // the other ranks train their shards in step with rank 0, silently
    train_to_completion(trainer);
    return {std::move(model), std::move(spec)};
  }
  const char* label = run.label.c_str();
  std::printf("%s%s on %s, %lld training / %lld validation images, %d threads%s%s\n", label, run.model.c_str(),
              run.dataset.c_str(), static_cast<long long>(train_set.size()), static_cast<long long>(val_set.size()),
              farbound::max_threads(),
              run.ranks > 1 ? (" x " + std::to_string(run.ranks) + " MPI ranks, " + std::to_string(cfg.shards) + " shards").c_str() : "",
              trainer.epoch() > 0 ? (", resumed after epoch " + std::to_string(trainer.epoch())).c_str() : "");

  if (!run.log_file.empty() && !std::ofstream(run.log_file, std::ios::app))
    throw io_error(run.log_file + ": cannot open for appending");
  ProgressBar bar;
  const auto epoch_label = [&] {
    return "epoch " + std::to_string(trainer.epoch() + 1) + "/" + std::to_string(cfg.num_epochs);
  };
  TrainingRunOptions options;
  options.checkpoint = run.checkpoint_file;
  options.metadata = model_meta;
  options.on_step = [&](const StepProgress& p) {
    bar.update(run.label + epoch_label(), p.step, p.steps, "loss " + std::to_string(p.loss));
  };
  options.on_epoch = [&](const EpochStats& s) {
    bar.clear();
    nlohmann::json line = {{"epoch", s.epoch + 1}, {"ce", s.cross_entropy},        {"gr", s.regulariser},
                           {"loss", s.loss},       {"train_acc", s.train_accuracy}, {"lr", s.lr},
                           {"anchors_per_s", s.anchors_per_second}};
    std::printf("%sepoch %u/%d: ce %.4f gr %.4g train %.2f%%", label, s.epoch + 1, cfg.num_epochs, s.cross_entropy,
                s.regulariser, 100 * s.train_accuracy);
    if (val.size > 0) {  // num_val 0: no validation split, so no validation numbers
      const Evaluation v = evaluate(model, val);
      line["val_loss"] = v.loss;
      line["val_acc"] = v.accuracy;
      std::printf(" val %.2f%%", 100 * v.accuracy);
    }
    if (run.test) {
      const Evaluation t = evaluate(model, test_source);
      line["test_acc"] = t.accuracy;
      std::printf(" test %.2f%%", 100 * t.accuracy);
    }
    std::printf(" (%.0f anchors/s)\n", s.anchors_per_second);
    std::fflush(stdout);
    if (!run.log_file.empty()) append_line_atomically(run.log_file, line.dump());
  };
  train_to_completion(trainer, options);
  save_model(run.out_file, model, spec, {{"farbound.train_config", nlohmann::json(cfg).dump()}});
  return {std::move(model), std::move(spec)};
}

}  // namespace examples
