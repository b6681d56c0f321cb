#pragma once
// Trainer<T>: the data-sparsity training framework (docs/papers.md section 1) and its baselines.
//
// One epoch:
//   anchors = the labelled items and Nu unlabelled copies of each (label -1), shuffled;
//   for every batch of B anchors:
//     x_i   = the item (copies get + N(0, sigma_u^2 I): the unlabelled cloud)
//     x_ik  = x_i + N(0, sigma_n^2 I), k < K, r_ik = ||x_ik - x_i||^2   (neighbours)
//     one forward of [x_1..x_B; x_11..x_BK], then
//     L = (1/B) sum_i [ m_i CE(z_i, y_i) + lambda GR_i ]     (regularize/smoothness_loss.hpp)
//     one backward, one optimiser step, lr from LinearCosine.
// Variants, as the reference trains them:
//   jacobian     lambda * (1/2) ||J||_F^2 on the logits instead of GR (regularize/jacobian.hpp)
//   adversarial  FGSM copies of the labelled anchors, x_adv = x + eps sign(grad_x CE), with
//                CE = (CE(x) + r CE(x_adv)) / (1 + r) and GR (or JR) on x_adv and its own
//                neighbours too. The model crafts x_adv in eval mode and returns to train mode.
//   inject_noise the cloud and the neighbours are drawn around the features at layer L
//                (the input of layer L) instead of around the input.
// Every random number is keyed by (seed, purpose, epoch, anchor id, neighbour): the same
// anchors and neighbours whatever the batch size or thread count, and a run resumed from a
// checkpoint continues exactly as if it had not stopped.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "farbound/core/error.hpp"
#include "farbound/core/simd.hpp"
#include "farbound/io/model_file.hpp"
#include "farbound/io/safetensors.hpp"
#include "farbound/nn/loss.hpp"
#include "farbound/nn/sequential.hpp"
#include "farbound/optim/adam.hpp"
#include "farbound/optim/schedule.hpp"
#include "farbound/optim/sgd.hpp"
#include "farbound/regularize/jacobian.hpp"
#include "farbound/regularize/smoothness_loss.hpp"
#include "farbound/sampling/anchor_stream.hpp"
#include "farbound/sampling/neighbours.hpp"
#include "farbound/sampling/perturbation.hpp"
#include "farbound/sampling/unlabelled_cloud.hpp"
#include "farbound/train/batch_source.hpp"
#include "farbound/train/config.hpp"
#include "farbound/train/evaluate.hpp"

namespace farbound {

// What one epoch of training did: losses, accuracy, speed.
struct EpochStats {
  // The epoch, from 0.
  std::uint32_t epoch = 0;
  double cross_entropy = 0;   // mean over steps of (1/B) sum_i m_i CE_i (clean anchors)
  double regulariser = 0;     // mean over steps of the GR (or JR) term, without lambda
  double loss = 0;            // mean over steps of the total loss
  double train_accuracy = 0;  // over the labelled anchors, on their training forward
  double lr = 0;              // learning rate of the last step
  // Anchors and optimiser steps in the epoch.
  std::int64_t anchors = 0, steps = 0;
  // Wall time and throughput.
  double seconds = 0, anchors_per_second = 0;
};

// Where an epoch is, for a progress callback.
struct StepProgress {
  // Step within the epoch (from 1) and steps in it.
  std::int64_t step = 0, steps = 0;  // within the epoch, from 1
  // The step's loss.
  double loss = 0;
};

// Trains a model with a TrainConfig: anchors, unlabelled cloud, neighbours, loss, optimiser, one epoch at a time.
template <class T>
class Trainer {
 public:
  Trainer(Sequential<T>& model, TrainConfig config, BatchSource<T> train)
      : model_(model),
        config_(checked(std::move(config))),
        train_(std::move(train)),
        cloud_(train_.size, config_.num_unlabeled_per_labeled, GaussianNoise(config_.unlabeled_noise_std), config_.seed),
        neighbours_(config_.num_neighbor_per_anchor, GaussianNoise(config_.neighbor_noise_std), config_.seed),
        stream_(cloud_.anchor_count(), config_.seed) {
    if (train_.size < 1) throw argument_error("Trainer: the training set is empty");
    if (config_.inject_noise >= std::int64_t(model_.size()))
      throw argument_error("Trainer: inject_noise layer " + std::to_string(config_.inject_noise) +
                           " is beyond the model's " + std::to_string(model_.size()) + " layers");
    const auto params = model_.parameters();
    if (config_.optimizer == "sgd")
      optimizer_ = std::make_unique<SGD<T>>(params, config_.lr, SgdOptions{.momentum = config_.momentum, .weight_decay = config_.weight_decay});
    else if (config_.optimizer == "adamw")
      optimizer_ = std::make_unique<AdamW<T>>(params, config_.lr, AdamOptions{.weight_decay = config_.weight_decay});
    else
      optimizer_ = std::make_unique<Adam<T>>(params, config_.lr, AdamOptions{.weight_decay = config_.weight_decay});
    // S of the schedule is floor(anchors / B) as in the reference; an epoch runs every
    // anchor, so its last, shorter batch (if any) is one step more.
    steps_per_epoch_ = stream_.batch_count(config_.batch_size);
    schedule_ = std::make_unique<LinearCosineLR>(
        config_.lr, config_.linear_epoch, config_.num_epochs,
        steps_per_epoch(train_.size, config_.num_unlabeled_per_labeled, config_.batch_size));
  }

  // The settings it trains with.
  const TrainConfig& config() const { return config_; }
  // The next epoch to run, from 0.
  std::uint32_t epoch() const { return epoch_; }
  // Whether every epoch of the config has run.
  bool finished() const { return epoch_ >= std::uint32_t(config_.num_epochs); }
  // Optimiser steps per epoch.
  std::int64_t batches_per_epoch() const { return steps_per_epoch_; }
  // The optimiser, e.g. for its learning rate.
  const Optimizer<T>& optimizer() const { return *optimizer_; }

  // Trains one epoch; on_step is called after every optimiser step (progress bars).
  EpochStats run_epoch(const std::function<void(const StepProgress&)>& on_step = {}) {
    const auto start = std::chrono::steady_clock::now();
    model_.set_training(true);
    stream_.shuffle(epoch_);
    EpochStats stats;
    stats.epoch = epoch_;
    std::int64_t labelled_seen = 0, labelled_correct = 0;
    for (std::int64_t s = 0; s < steps_per_epoch_; ++s) {
      const auto ids = stream_.batch(s, config_.batch_size);
      const auto count = std::int64_t(ids.size());
      const StepLoss l = step(ids);
      stats.cross_entropy += l.cross_entropy;
      stats.regulariser += l.regulariser;
      stats.loss += l.total;
      labelled_seen += l.labelled;
      labelled_correct += l.correct;
      stats.anchors += count;
      if (on_step) on_step({s + 1, steps_per_epoch_, l.total});
    }
    stats.steps = steps_per_epoch_;
    stats.cross_entropy /= double(stats.steps);
    stats.regulariser /= double(stats.steps);
    stats.loss /= double(stats.steps);
    stats.train_accuracy = labelled_seen ? double(labelled_correct) / double(labelled_seen) : 0.0;
    stats.lr = optimizer_->lr();
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    stats.anchors_per_second = double(stats.anchors) / std::max(stats.seconds, 1e-9);
    ++epoch_;
    return stats;
  }

  // Writes the model's tensors (under their state_dict names), optimiser state, epoch and
  // configuration, atomically (a temporary file renamed over `path`). `metadata` is stored
  // too (e.g. the model spec). The final model goes to a model file (save_model).
  void save_checkpoint(const std::filesystem::path& path, std::map<std::string, std::string> metadata = {}) const {
    auto tensors = state_dict(model_);
    const OptimizerState<T> state = optimizer_->state();
    for (const auto& nt : state.tensors) tensors.emplace_back("optimizer." + nt.name, nt.tensor.view());
    metadata["farbound.train_config"] = nlohmann::json(config_).dump();
    metadata["farbound.epoch"] = std::to_string(epoch_);
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
    try {
      state.steps = std::stoll(meta("farbound.optimizer_steps"));
      epoch_ = std::uint32_t(std::stoul(meta("farbound.epoch")));
    } catch (const std::logic_error&) {
      throw io_error(path.string() + ": bad epoch or step count in the metadata");
    }
    for (const auto& nt : optimizer_->state().tensors)
      state.tensors.push_back({nt.name, file.get<T>("optimizer." + nt.name)});
    load_parameters(file, model_);
    optimizer_->load_state(state);
  }

 private:
  struct StepLoss {
    double cross_entropy = 0, regulariser = 0, total = 0;
    std::int64_t labelled = 0, correct = 0;
  };

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

  static TrainConfig checked(TrainConfig c) {
    c.validate();
    return c;
  }

  // One optimiser step on the anchors `ids`.
  StepLoss step(std::span<const std::uint32_t> ids) {
    const auto b = std::int64_t(ids.size());
    const std::int64_t k = config_.num_neighbor_per_anchor;
    const std::size_t layer = config_.inject_noise >= 0 ? std::size_t(config_.inject_noise) : 0;

    // The anchors' source items (augmented per epoch by the batch source) and labels.
    sources_.resize(ids.size());
    labels_.resize(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) sources_[i] = cloud_.source(ids[i]);
    train_.load(sources_, epoch_, items_, source_labels_);
    for (std::size_t i = 0; i < ids.size(); ++i) labels_[i] = cloud_.label(ids[i], source_labels_[i]);
    if (config_.adversarial) craft_adversarial(b);

    // Where the noise is drawn: the input, or the features at `layer` (noise injection).
    const TensorView<const T> base = layer > 0 ? model_.forward(items_.view(), 0, layer) : TensorView<const T>(items_);
    const auto ba = std::int64_t(adversarial_rows_.size());
    const std::int64_t anchors = b + ba, d = base.shape().item_numel();

    // Batch rows: the B anchors, the FGSM copies, then K neighbours of each of them.
    batch_.resize(base.shape().with_batch(anchors * (1 + k)));
    cloud_.make_anchors(epoch_, ids, base, batch_.slice(0, b));
    std::copy_n(adversarial_.data(), ba * d, batch_.data() + b * d);
    neighbour_ids_.assign(ids.begin(), ids.end());
    // An FGSM copy's neighbours get ids of their own, after all anchor ids.
    for (std::int64_t i : adversarial_rows_) neighbour_ids_.push_back(std::uint32_t(cloud_.anchor_count()) + ids[std::size_t(i)]);
    r_.resize({anchors * k});
    if (k > 0)
      neighbours_.fill(epoch_, std::span<const std::uint32_t>(neighbour_ids_), TensorView<const T>(batch_.slice(0, anchors)),
                       batch_.slice(anchors, anchors * k), r_.view());

    const auto logits = model_.forward(batch_.view(), layer, model_.size());
    grad_.resize(logits.shape());
    StepLoss loss = losses(logits, b, ba, k);
    if (!std::isfinite(loss.total))
      throw numeric_error("training diverged: loss " + std::to_string(loss.total) + " in epoch " + std::to_string(epoch_ + 1) +
                          " (the last checkpoint, if any, is intact)");
    argmax_rows(logits.slice(0, b), predicted_);
    for (std::int64_t i = 0; i < b; ++i)
      if (labels_[std::size_t(i)] >= 0) {
        ++loss.labelled;
        loss.correct += predicted_[std::size_t(i)] == labels_[std::size_t(i)];
      }

    optimizer_->zero_grad();
    if (layer == 0) {
      model_.backward(grad_.view());
    } else {
      // Every row is an anchor's features plus constant noise, so the anchor's feature
      // gradient is the sum over its own row and its neighbours' rows.
      const auto g = model_.backward_range(grad_.view(), layer, model_.size(), InputGrad::compute);
      feature_grad_.resize(base.shape());
      std::copy_n(g.data(), b * d, feature_grad_.data());
      for (std::int64_t i = 0; i < b; ++i)
        for (std::int64_t j = 0; j < k; ++j)
          simd::axpy(T(1), g.data() + (anchors + i * k + j) * d, feature_grad_.data() + i * d, std::size_t(d));
      model_.backward_range(feature_grad_.view(), 0, layer);
    }
    optimizer_->step(*schedule_);
    return loss;
  }

  // FGSM copies of the labelled anchors (input space, never with noise injection):
  // x_adv = x + eps * sign(d CE / dx), crafted in eval mode. Labelled anchors are their
  // own source items, so the copies start from items_.
  void craft_adversarial(std::int64_t b) {
    adversarial_rows_.clear();
    for (std::int64_t i = 0; i < b; ++i)
      if (labels_[std::size_t(i)] >= 0) adversarial_rows_.push_back(i);
    const auto ba = std::int64_t(adversarial_rows_.size());
    const std::int64_t d = items_.shape().item_numel();
    adversarial_.resize(items_.shape().with_batch(ba));
    adversarial_labels_.resize(std::size_t(ba));
    for (std::int64_t a = 0; a < ba; ++a) {
      const std::int64_t i = adversarial_rows_[std::size_t(a)];
      std::copy_n(items_.data() + i * d, d, adversarial_.data() + a * d);
      adversarial_labels_[std::size_t(a)] = labels_[std::size_t(i)];
    }
    if (ba == 0) return;
    model_.set_training(false);
    const auto logits = model_.forward(adversarial_.view());
    cross_entropy<T>(logits, adversarial_labels_, adversarial_grad_);
    const auto g = model_.backward(adversarial_grad_.view(), InputGrad::compute, ParamGrads::skip);
    model_.set_training(true);
    const T eps = T(config_.epsilon);
    for (std::int64_t j = 0; j < ba * d; ++j) adversarial_[j] += g[j] > 0 ? eps : (g[j] < 0 ? -eps : T(0));
  }

  // Loss over the batch logits and its gradient into grad_. Rows: [0, b) anchors,
  // [b, b + ba) FGSM copies, then the neighbours of all b + ba anchors, K each.
  StepLoss losses(TensorView<const T> logits, std::int64_t b, std::int64_t ba, std::int64_t k) {
    StepLoss out;
    const std::int64_t anchors = b + ba;
    const T lambda = T(config_.grad_reg_lambda);
    const bool regularised = k > 0;
    if (!config_.adversarial && !config_.jacobian && regularised) {
      // The paper's loss in one fused pass.
      const auto v = smoothness_loss<T>(logits.slice(0, b), logits.slice(b, b * k), r_.view(), labels_, lambda,
                                        grad_.slice(0, b), grad_.slice(b, b * k));
      return {double(v.cross_entropy), double(v.smoothness), double(v.total), 0, 0};
    }
    grad_.zero();
    // Cross-entropy: (1/B) sum over labelled anchors of (CE(x) + r CE(x_adv)) / (1 + r).
    const double adv_weight = config_.adversarial ? config_.adv_ratio : 0.0;
    std::int64_t labelled = 0;
    for (int y : labels_) labelled += y >= 0;
    if (labelled > 0) {
      const double w = double(labelled) / double(b) / (1.0 + adv_weight);
      out.cross_entropy = w * double(cross_entropy<T>(logits.slice(0, b), labels_, ce_grad_));
      simd::axpy(T(w), ce_grad_.data(), grad_.data(), std::size_t(ce_grad_.numel()));
      if (ba > 0) {
        const double wa = double(ba) / double(b) * adv_weight / (1.0 + adv_weight);
        out.cross_entropy += wa * double(cross_entropy<T>(logits.slice(b, ba), adversarial_labels_, ce_grad_));
        simd::axpy(T(wa), ce_grad_.data(), grad_.data() + b * logits.size(1), std::size_t(ce_grad_.numel()));
      }
    }
    // Regulariser over all anchors (clean and FGSM copies), normalised by B as the loss.
    if (regularised) {
      const auto anchor_logits = logits.slice(0, anchors);
      const auto neighbour_logits = logits.slice(anchors, anchors * k);
      if (config_.jacobian) {
        out.regulariser = double(jacobian_penalty<T>(anchor_logits, neighbour_logits, config_.neighbor_noise_std,
                                                     double(lambda) * double(anchors) / double(b), grad_.slice(0, anchors),
                                                     grad_.slice(anchors, anchors * k))) *
                          double(anchors) / double(b);
      } else {
        unlabelled_.assign(std::size_t(anchors), -1);
        gr_anchor_grad_.resize(anchor_logits.shape());
        gr_neighbour_grad_.resize(neighbour_logits.shape());
        const auto v = smoothness_loss<T>(anchor_logits, neighbour_logits, r_.view(), unlabelled_, lambda,
                                          gr_anchor_grad_.view(), gr_neighbour_grad_.view());
        const T scale = T(double(anchors) / double(b));
        simd::axpy(scale, gr_anchor_grad_.data(), grad_.data(), std::size_t(gr_anchor_grad_.numel()));
        simd::axpy(scale, gr_neighbour_grad_.data(), grad_.data() + anchors * logits.size(1),
                   std::size_t(gr_neighbour_grad_.numel()));
        out.regulariser = double(v.smoothness) * double(scale);
      }
    }
    out.total = out.cross_entropy + double(lambda) * out.regulariser;
    return out;
  }

  Sequential<T>& model_;
  TrainConfig config_;
  BatchSource<T> train_;
  UnlabelledCloud<GaussianNoise> cloud_;
  Neighbours<GaussianNoise> neighbours_;
  AnchorStream stream_;
  std::unique_ptr<Optimizer<T>> optimizer_;
  std::unique_ptr<LearningRateSchedule> schedule_;
  std::int64_t steps_per_epoch_ = 0;
  std::uint32_t epoch_ = 0;

  // Workspaces, resized per step (no allocation once they are large enough).
  std::vector<std::int64_t> sources_, adversarial_rows_;
  std::vector<std::uint32_t> neighbour_ids_;
  std::vector<int> labels_, source_labels_, adversarial_labels_, predicted_, unlabelled_;
  Tensor<T> items_, batch_, r_, grad_, ce_grad_, gr_anchor_grad_, gr_neighbour_grad_, feature_grad_;
  Tensor<T> adversarial_, adversarial_grad_;
};

}  // namespace farbound
