#pragma once
// Trainer<T>: a TrainConfig run. It builds the TrainingLoop's parts from the config
// (train/recipe.hpp: the optimiser, the LinearCosine schedule, the Gaussian cloud and
// neighbours, the adversarial examples and the objective terms), owns them, and writes and
// reads checkpoints that resume the run bitwise. The command line and the sweeps train through
// it; other parts than a config can name go into a TrainingLoop directly. The config's
// `shards` cut every batch into S shards; a GradientSum spreads them over processes
// (MpiGradientSum: MPI ranks), else all S run here (LocalGradientSum).
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "farbound/core/error.hpp"
#include "farbound/distributed/gradient_sum.hpp"
#include "farbound/io/model_file.hpp"
#include "farbound/io/safetensors.hpp"
#include "farbound/nn/sequential.hpp"
#include "farbound/sampling/neighbours.hpp"
#include "farbound/sampling/perturbation.hpp"
#include "farbound/sampling/unlabelled_cloud.hpp"
#include "farbound/train/batch_source.hpp"
#include "farbound/train/config.hpp"
#include "farbound/train/recipe.hpp"
#include "farbound/train/training_loop.hpp"

namespace farbound {

// A training run from a TrainConfig, with checkpoints (see above).
template <class T>
class Trainer {
 public:
  // Trains model on train with config (validated; throws argument_error if it does not fit).
  // gradient_sum: which of the config's shards this process computes and how they are summed
  // (its shard count must be the config's); null: all of them, here. replicas: the config's
  // replicas - 1 copies of the model (same architecture; their values are replaced), which
  // share each step's rows with it, one thread each (nn/replicas.hpp).
  Trainer(Sequential<T>& model, TrainConfig config, BatchSource<T> train, std::unique_ptr<GradientSum<T>> gradient_sum = nullptr,
          std::span<Sequential<T>> replicas = {})
      : model_(model),
        config_(checked(std::move(config), model, train)),
        optimizer_(make_optimizer<T>(config_, model.parameters())),
        schedule_(make_schedule(config_, train.size)),
        loop_(typename Loop::Parts{
            .model = model,
            .optimizer = *optimizer_,
            .schedule = *schedule_,
            .data = train,
            .cloud = UnlabelledCloud<GaussianNoise>(train.size, config_.num_unlabeled_per_labeled,
                                                    GaussianNoise(config_.unlabeled_noise_std), config_.seed),
            .neighbours = Neighbours<GaussianNoise>(config_.num_neighbor_per_anchor,
                                                    GaussianNoise(config_.neighbor_noise_std), config_.seed),
            .adversarial = make_adversarial_examples<T>(config_),
            .terms = make_objective_terms<T>(config_),
            .batch_size = config_.batch_size,
            .noise_layer = std::max(config_.inject_noise, 0),
            .gradient_sum = gradient_sum ? checked(std::move(gradient_sum), config_)
                                         : std::make_unique<LocalGradientSum<T>>(config_.shards),
            .replicas = checked(replicas, config_)}) {}

  // The settings it trains with.
  const TrainConfig& config() const { return config_; }
  // The next epoch to run, from 0.
  std::uint32_t epoch() const { return loop_.epoch(); }
  // Whether every epoch of the config has run.
  bool finished() const { return epoch() >= std::uint32_t(config_.num_epochs); }
  // Optimiser steps per epoch.
  std::int64_t batches_per_epoch() const { return loop_.batches_per_epoch(); }
  // The optimiser, e.g. for its learning rate.
  const Optimizer<T>& optimizer() const { return *optimizer_; }

  // Trains one epoch; on_step is called after every optimiser step (progress bars).
  EpochStats run_epoch(const std::function<void(const StepProgress&)>& on_step = {}) { return loop_.run_epoch(on_step); }

  // Writes the model's tensors (under their state_dict names), optimiser state, epoch and
  // configuration, atomically (a temporary file renamed over `path`). `metadata` is stored
  // too (e.g. the model spec). The final model goes to a model file (save_model).
  void save_checkpoint(const std::filesystem::path& path, std::map<std::string, std::string> metadata = {}) const {
    auto tensors = state_dict(model_);
    const OptimizerState<T> state = optimizer_->state();
    for (const auto& nt : state.tensors) tensors.emplace_back("optimizer." + nt.name, nt.tensor.view());
    metadata["farbound.train_config"] = nlohmann::json(config_).dump();
    metadata["farbound.epoch"] = std::to_string(epoch());
    metadata["farbound.optimizer_steps"] = std::to_string(state.steps);
    write_safetensors<T>(path, tensors, metadata);
  }

  // Restores a checkpoint written by save_checkpoint; training then continues bitwise as if
  // it had never stopped. Every setting must equal the checkpoint's, and so must each
  // `expected` metadata entry (e.g. the model spec and the data selection, which shape the
  // run as much as the settings do): a mismatch is an argument_error naming what differs.
  void load_checkpoint(const std::filesystem::path& path, const std::map<std::string, std::string>& expected = {}) {
    const SafetensorsFile file = read_safetensors(path);
    const auto meta = [&](const std::string& key) -> const std::string& {
      const auto it = file.metadata.find(key);
      if (it == file.metadata.end()) throw io_error(path.string() + ": not a farbound checkpoint (no " + key + ")");
      return it->second;
    };
    TrainConfig saved;
    try {
      update_from_json(saved, nlohmann::json::parse(meta("farbound.train_config")));
    } catch (const std::exception& e) {
      throw io_error(path.string() + ": bad training configuration: " + e.what());
    }
    const nlohmann::json saved_json = saved, config_json = config_;
    for (const auto& [key, value] : saved_json.items())
      if (config_json.at(key) != value)
        throw argument_error(path.string() + ": the checkpoint was written with " + key + " " + value.dump() +
                             ", this run has " + config_json.at(key).dump());
    for (const auto& [key, value] : expected) require_same_metadata(path, key, meta(key), value);
    OptimizerState<T> state;
    std::uint32_t epoch = 0;
    try {
      state.steps = std::stoll(meta("farbound.optimizer_steps"));
      epoch = std::uint32_t(std::stoul(meta("farbound.epoch")));
    } catch (const std::logic_error&) {
      throw io_error(path.string() + ": bad epoch or step count in the metadata");
    }
    for (const auto& nt : optimizer_->state().tensors)
      state.tensors.push_back({nt.name, file.get<T>("optimizer." + nt.name)});
    load_parameters(file, model_);
    optimizer_->load_state(state);
    loop_.set_epoch(epoch);
  }

 private:
  using Loop = TrainingLoop<T, GaussianNoise, GaussianNoise>;

  // The checkpoint's metadata entry `key` must be `wanted`; for JSON objects the message
  // names the first field that differs.
  static void require_same_metadata(const std::filesystem::path& path, const std::string& key, const std::string& saved,
                                    const std::string& wanted) {
    if (saved == wanted) return;
    const auto a = nlohmann::json::parse(saved, nullptr, false), b = nlohmann::json::parse(wanted, nullptr, false);
    if (a.is_object() && b.is_object())
      for (const auto& [field, value] : b.items())
        if (!a.contains(field) || a.at(field) != value)
          throw argument_error(path.string() + ": the checkpoint's " + key + " has " + field + " " +
                               (a.contains(field) ? a.at(field).dump() : "(none)") + ", this run has " + value.dump());
    throw argument_error(path.string() + ": the checkpoint's " + key + " is " + saved + ", this run has " + wanted);
  }

  static TrainConfig checked(TrainConfig c, const Sequential<T>& model, const BatchSource<T>& train) {
    c.validate();
    if (train.size < 1) throw argument_error("Trainer: the training set is empty");
    if (c.inject_noise >= std::int64_t(model.size()))
      throw argument_error("Trainer: inject_noise layer " + std::to_string(c.inject_noise) + " is beyond the model's " +
                           std::to_string(model.size()) + " layers");
    return c;
  }

  static std::unique_ptr<GradientSum<T>> checked(std::unique_ptr<GradientSum<T>> sum, const TrainConfig& c) {
    if (sum->shard_count() != c.shards)
      throw argument_error("Trainer: the gradient sum has " + std::to_string(sum->shard_count()) + " shards, the config " +
                           std::to_string(c.shards));
    return sum;
  }

  static std::span<Sequential<T>> checked(std::span<Sequential<T>> copies, const TrainConfig& c) {
    if (std::int64_t(copies.size()) + 1 != c.replicas)
      throw argument_error("Trainer: the config's replicas " + std::to_string(c.replicas) + " need " +
                           std::to_string(c.replicas - 1) + " copies of the model, got " + std::to_string(copies.size()));
    return copies;
  }

  Sequential<T>& model_;
  TrainConfig config_;
  std::unique_ptr<Optimizer<T>> optimizer_;
  std::unique_ptr<LearningRateSchedule> schedule_;
  Loop loop_;
};

}  // namespace farbound
