#pragma once
// TrainingLoop: the data-sparsity training framework (docs/papers.md section 1) assembled
// from parts the caller chooses:
//   the model; any Optimizer<T> and any LearningRateSchedule (owned by the caller);
//   the anchor source: a BatchSource of labelled items and an UnlabelledCloud<P> template
//     (labelled items plus Nu noisy unlabelled copies of each, label -1), shuffled by an
//     AnchorStream every epoch;
//   the neighbour template Neighbours<P> (K noisy neighbours per anchor, or none);
//   optionally AdversarialExamples<T> that craft a copy of every labelled anchor;
//   a list of ObjectiveTerm<T>, each adding its loss and d(loss)/d(logits).
// One step on B anchors:
//   x_i   = the anchor (item, or a cloud copy), x_a = adversarial copies of the labelled ones
//   x_nk  = K neighbours of every anchor n (clean and adversarial), r_nk = ||x_nk - x_n||^2
//   one forward of [x_1..x_B; x_a..; x_11..], every term adds its part of the loss and the
//   gradient, one backward, one optimiser step with the schedule's learning rate.
// Without neighbours, when no term reads the clean rows (Madry et al.'s adversarial-only
// cross-entropy), the forward and backward run over the adversarial rows alone.
// With noise injection (layer L > 0) the cloud and the neighbours are drawn around the
// features at layer L instead of the input (no adversarial rows then).
// Every random number is keyed by (seed, purpose, epoch, anchor id, neighbour): the same
// anchors and neighbours whatever the batch size or thread count, so a run resumed from a
// checkpoint continues exactly as if it had not stopped.
// Data-parallel steps: a GradientSum (distributed/gradient_sum.hpp) cuts each step's B
// anchors into S shards in order (shard s: anchors [s B / S, (s + 1) B / S)); this process
// runs the step above over each of its shards alone (every loss still divided by B), keeps
// each shard's parameter gradient, and the GradientSum adds all S in a fixed order, so every
// process takes the same optimiser step, with the same bits on any number of processes. S = 1
// (no GradientSum given) is the plain step. Models with state that changes every forward
// (Dropout's step counter, batch statistics) would need that state kept in step across
// processes; farbound's zoo has none, and a model whose random numbers are keyed by a row's
// place in the batch (Dropout) is refused with more than one shard or with replicas.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/simd.hpp"
#include "farbound/distributed/gradient_sum.hpp"
#include "farbound/nn/batches.hpp"
#include "farbound/nn/replicas.hpp"
#include "farbound/nn/sequential.hpp"
#include "farbound/optim/optimizer.hpp"
#include "farbound/optim/schedule.hpp"
#include "farbound/sampling/anchor_stream.hpp"
#include "farbound/sampling/neighbours.hpp"
#include "farbound/sampling/unlabelled_cloud.hpp"
#include "farbound/train/adversarial_examples.hpp"
#include "farbound/train/batch_source.hpp"
#include "farbound/train/evaluate.hpp"
#include "farbound/train/objective.hpp"

namespace farbound {

// What one epoch of training did.
struct EpochStats {
  std::uint32_t epoch = 0;    // the epoch, from 0
  double cross_entropy = 0;   // mean over steps of the terms' cross-entropy
  double regulariser = 0;     // mean over steps of the terms' regularisers, without their weights
  double loss = 0;            // mean over steps of the total loss
  double train_accuracy = 0;  // over the labelled anchors, on their training forward (on their
                              // adversarial copies' when the steps leave the clean rows out)
  double lr = 0;              // learning rate of the last step
  std::int64_t anchors = 0;   // anchors trained on
  std::int64_t steps = 0;     // optimiser steps
  double seconds = 0;         // wall-clock time of the epoch
  double anchors_per_second = 0;  // anchors / seconds
};

// Where an epoch stands after an optimiser step, for progress bars.
struct StepProgress {
  std::int64_t step = 0;   // the step just taken, within the epoch, from 1
  std::int64_t steps = 0;  // steps in the epoch
  double loss = 0;         // that step's total loss
};

// The data-sparsity training framework over parts the caller chooses (see above).
template <class T, class CloudNoise, class NeighbourNoise>
class TrainingLoop {
 public:
  // What the loop trains with; the model, optimiser and schedule are the caller's.
  struct Parts {
    Sequential<T>& model;                     // the model trained
    Optimizer<T>& optimizer;                  // its optimiser
    const LearningRateSchedule& schedule;     // the learning rate of every step
    BatchSource<T> data;                      // the labelled items
    UnlabelledCloud<CloudNoise> cloud;        // the anchors: the items and their unlabelled copies
    Neighbours<NeighbourNoise> neighbours;    // K noisy neighbours per anchor
    std::unique_ptr<AdversarialExamples<T>> adversarial;  // null: no adversarial rows
    std::vector<std::unique_ptr<ObjectiveTerm<T>>> terms = {};  // the loss's parts, at least one
    std::int64_t batch_size = 64;  // anchors per step
    int noise_layer = 0;           // > 0: draw the cloud and the neighbours at this layer's input
    std::unique_ptr<GradientSum<T>> gradient_sum = nullptr;  // the shards and their sum; null: one shard, here
    // Copies of the model that share each step's forward and backward rows with it, each
    // part on its own thread (nn/replicas.hpp: other roundings than none, the same on any
    // thread count); not with noise_layer > 0.
    std::span<Sequential<T>> replicas = {};
  };

  // Takes the parts; throws argument_error if they do not fit together.
  explicit TrainingLoop(Parts parts)
      : p_(std::move(parts)), stream_(p_.cloud.anchor_count(), p_.cloud.seed()),
        steps_per_epoch_(stream_.batch_count(p_.batch_size)), params_(p_.model.parameters()),
        replicas_(p_.model, p_.replicas) {
    if (!p_.gradient_sum) p_.gradient_sum = std::make_unique<LocalGradientSum<T>>(1);
    for (const Parameter<T>* param : params_) gradient_length_ += std::size_t(param->grad.numel());
    if (p_.data.size != p_.cloud.labelled_count())
      throw argument_error("TrainingLoop: the cloud has " + std::to_string(p_.cloud.labelled_count()) +
                           " labelled points, the data " + std::to_string(p_.data.size));
    if (p_.terms.empty()) throw argument_error("TrainingLoop: no objective terms");
    if (p_.noise_layer < 0 || p_.noise_layer >= int(p_.model.size()))
      throw argument_error("TrainingLoop: noise layer " + std::to_string(p_.noise_layer) + " is beyond the model's " +
                           std::to_string(p_.model.size()) + " layers");
    if (p_.noise_layer > 0 && p_.adversarial)
      throw argument_error("TrainingLoop: noise injection with adversarial rows is not supported");
    if (p_.noise_layer > 0 && !p_.replicas.empty())
      throw argument_error("TrainingLoop: noise injection with model replicas is not supported");
    if (p_.gradient_sum->shard_count() > 1 && p_.model.keys_random_numbers_by_place())
      throw argument_error("TrainingLoop: the model has a layer that keys random numbers by a row's place in the "
                           "batch (Dropout): with " + std::to_string(p_.gradient_sum->shard_count()) +
                           " shards every shard would draw the first rows' numbers");
    terms_read_clean_rows_ =
        std::any_of(p_.terms.begin(), p_.terms.end(), [](const auto& term) { return term->reads_clean_rows(); });
  }

  // The next epoch to run, from 0.
  std::uint32_t epoch() const { return epoch_; }
  // Continue from `epoch` (a checkpoint's).
  void set_epoch(std::uint32_t epoch) { epoch_ = epoch; }
  // Optimiser steps per epoch.
  std::int64_t batches_per_epoch() const { return steps_per_epoch_; }
  // The optimiser, e.g. for its learning rate.
  const Optimizer<T>& optimizer() const { return p_.optimizer; }

  // Trains one epoch; on_step is called after every optimiser step (progress bars; its loss
  // is the step's loss over this process's shards).
  EpochStats run_epoch(const std::function<void(const StepProgress&)>& on_step = {}) {
    const auto start = std::chrono::steady_clock::now();
    replicas_.set_training(true);
    stream_.shuffle(epoch_);
    GradientSum<T>& sum = *p_.gradient_sum;
    const ShardRange own = sum.shards();
    shard_stats_.assign(std::size_t(own.last - own.first) * shard_stat_count, 0.0);
    EpochStats stats;
    stats.epoch = epoch_;
    for (std::int64_t s = 0; s < steps_per_epoch_; ++s) {
      const auto ids = stream_.batch(s, p_.batch_size);
      const TermLoss l = step(ids, s);
      stats.anchors += std::int64_t(ids.size());
      if (on_step) on_step({s + 1, steps_per_epoch_, l.total});
    }
    // Every shard's sums, added in shard order: one process's numbers on any number of them.
    all_shard_stats_.resize(std::size_t(sum.shard_count()) * shard_stat_count);
    sum.all_shards(shard_stats_, all_shard_stats_);
    double labelled_seen = 0, labelled_correct = 0;
    for (std::size_t at = 0; at < all_shard_stats_.size(); at += shard_stat_count) {
      stats.cross_entropy += all_shard_stats_[at];
      stats.regulariser += all_shard_stats_[at + 1];
      stats.loss += all_shard_stats_[at + 2];
      labelled_seen += all_shard_stats_[at + 3];
      labelled_correct += all_shard_stats_[at + 4];
    }
    stats.steps = steps_per_epoch_;
    stats.cross_entropy /= double(stats.steps);
    stats.regulariser /= double(stats.steps);
    stats.loss /= double(stats.steps);
    stats.train_accuracy = labelled_seen > 0 ? labelled_correct / labelled_seen : 0.0;
    stats.lr = p_.optimizer.lr();
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    stats.anchors_per_second = double(stats.anchors) / std::max(stats.seconds, 1e-9);
    ++epoch_;
    return stats;
  }

 private:
  // Steps over fewer rows than this (anchors and their neighbours) run on one thread: at
  // LeNet's batch 1 (2 rows) a second thread gained 2 % when it ran well and cost two thirds
  // of the rate in the machine states where it did not; at batch 4 (8 rows) it gains 30 %
  // (docs/performance.md, "Small training steps on one thread").
  static constexpr std::int64_t min_rows_for_threads = 8;

  // One optimiser step on the anchors `ids`, the step-th of the epoch: the gradients of this
  // process's shards, their fixed-order sum over all shards, the optimiser step.
  TermLoss step(std::span<const std::uint32_t> ids, std::int64_t step_index) {
    GradientSum<T>& sum = *p_.gradient_sum;
    const std::int64_t shards = sum.shard_count(), b = std::int64_t(ids.size());
    const SerialScope small_step(b * (1 + p_.neighbours.per_anchor()) < min_rows_for_threads);
    // With one shard (so one process) its gradient is the sum and stays in the parameters.
    const bool summed = shards > 1;
    const ShardRange own = sum.shards();
    if (summed) own_gradients_.resize(std::size_t(own.last - own.first) * gradient_length_);
    TermLoss loss;
    for (std::int64_t s = own.first; s < own.last; ++s) {
      const std::int64_t first = s * b / shards, last = (s + 1) * b / shards;
      p_.optimizer.zero_grad();
      if (last > first) loss += shard_step(ids.subspan(std::size_t(first), std::size_t(last - first)), step_index, s, b);
      if (!summed) continue;
      T* slot = own_gradients_.data() + std::size_t(s - own.first) * gradient_length_;
      for (const Parameter<T>* param : params_) slot = std::copy_n(param->grad.data(), param->grad.numel(), slot);
    }
    if (summed) {
      summed_gradient_.resize(gradient_length_);
      sum(own_gradients_, summed_gradient_);
      const T* at = summed_gradient_.data();
      for (Parameter<T>* param : params_) {
        std::copy_n(at, param->grad.numel(), param->grad.data());
        at += param->grad.numel();
      }
    }
    p_.optimizer.step(p_.schedule);
    return loss;
  }

  // The forward, the terms and the backward over one shard's anchors `ids` (of the step's
  // b_step); adds the parameter gradients (zeroed by the caller) and the shard's statistics.
  TermLoss shard_step(std::span<const std::uint32_t> ids, std::int64_t step_index, std::int64_t shard, std::int64_t b_step) {
    Sequential<T>& model = p_.model;
    const auto b = std::int64_t(ids.size());
    const std::int64_t k = p_.neighbours.per_anchor();
    const auto layer = std::size_t(p_.noise_layer);

    // The anchors' source items (augmented per epoch by the batch source) and labels.
    sources_.resize(ids.size());
    labels_.resize(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) sources_[i] = p_.cloud.source(ids[i]);
    p_.data.load(sources_, epoch_, items_, source_labels_);
    for (std::size_t i = 0; i < ids.size(); ++i) labels_[i] = p_.cloud.label(ids[i], source_labels_[i]);
    craft_adversarial(ids, step_index, shard);

    // Where the noise is drawn: the input, or the features at `layer` (noise injection).
    const TensorView<const T> base = layer > 0 ? model.forward(items_.view(), 0, layer) : TensorView<const T>(items_);
    const auto ba = std::int64_t(crafted_from_.size());
    const std::int64_t anchors = b + ba, d = base.shape().item_numel();
    // Madry et al.'s step reads the adversarial rows only: the clean ones are left out.
    const bool with_clean_rows = k > 0 || ba == 0 || terms_read_clean_rows_;

    // Batch rows: the B anchors, the adversarial copies, then K neighbours of each of them.
    if (with_clean_rows) {
      batch_.resize(base.shape().with_batch(anchors * (1 + k)));
      p_.cloud.make_anchors(epoch_, ids, base, batch_.slice(0, b));
      if (ba > 0) std::copy_n(adversarial_.data(), ba * d, batch_.data() + b * d);
      neighbour_ids_.assign(ids.begin(), ids.end());
      // An adversarial copy's neighbours get ids of their own, after all anchor ids.
      for (std::int64_t i : crafted_from_) neighbour_ids_.push_back(std::uint32_t(p_.cloud.anchor_count()) + ids[std::size_t(i)]);
    }
    r_.resize({anchors * k});
    if (k > 0)
      p_.neighbours.fill(epoch_, std::span<const std::uint32_t>(neighbour_ids_), TensorView<const T>(batch_.slice(0, anchors)),
                         batch_.slice(anchors, anchors * k), r_.view());

    const TensorView<const T> rows_in = with_clean_rows ? batch_.view() : adversarial_.view();
    const auto logits = layer == 0 ? replicas_.forward(rows_in) : model.forward(rows_in, layer, model.size());
    grad_.resize(logits.shape());
    grad_.zero();
    const StepRows<T> rows{logits, b, ba, k, labels_, adversarial_labels_, crafted_from_, r_.view(), with_clean_rows, b_step};
    TermLoss loss;
    for (auto& term : p_.terms) loss += term->add(rows, grad_.view());
    if (!std::isfinite(loss.total))
      throw numeric_error("training diverged: loss " + std::to_string(loss.total) + " in epoch " + std::to_string(epoch_ + 1) +
                          " (the last checkpoint, if any, is intact)");
    // The training accuracy reads the rows the forward ran: the clean ones, or their adversarial copies.
    const std::span<const int> predicted_labels = with_clean_rows ? std::span<const int>(labels_) : std::span<const int>(adversarial_labels_);
    argmax_rows(with_clean_rows ? rows.clean_logits() : rows.adversarial_logits(), predicted_);
    double* stat = shard_stats_.data() + std::size_t(shard - p_.gradient_sum->shards().first) * shard_stat_count;
    stat[0] += loss.cross_entropy;
    stat[1] += loss.regulariser;
    stat[2] += loss.total;
    for (std::size_t i = 0; i < predicted_.size(); ++i)
      if (predicted_labels[i] >= 0) {
        stat[3] += 1;
        stat[4] += predicted_[i] == predicted_labels[i];
      }

    if (layer == 0) {
      replicas_.backward(grad_.view());
    } else {
      // Every row is an anchor's features plus constant noise, so the anchor's feature
      // gradient is the sum over its own row and its neighbours' rows.
      const auto g = model.backward_range(grad_.view(), layer, model.size(), InputGrad::compute);
      feature_grad_.resize(base.shape());
      std::copy_n(g.data(), b * d, feature_grad_.data());
      for (std::int64_t i = 0; i < b; ++i)
        for (std::int64_t j = 0; j < k; ++j)
          simd::axpy(T(1), g.data() + (anchors + i * k + j) * d, feature_grad_.data() + i * d, std::size_t(d));
      model.backward_range(feature_grad_.view(), 0, layer);
    }
    return loss;
  }

  // Adversarial copies of the labelled anchors (input space). Labelled anchors are their own
  // source items, so the copies start from items_.
  void craft_adversarial(std::span<const std::uint32_t> ids, std::int64_t step_index, std::int64_t shard) {
    crafted_from_.clear();
    adversarial_labels_.clear();
    if (!p_.adversarial) return;
    for (std::size_t i = 0; i < ids.size(); ++i)
      if (labels_[i] >= 0) {
        crafted_from_.push_back(std::int64_t(i));
        adversarial_labels_.push_back(labels_[i]);
      }
    if (crafted_from_.empty()) return;
    detail::gather_items(TensorView<const T>(items_), crafted_from_, clean_rows_);
    crafted_ids_.clear();
    for (std::int64_t i : crafted_from_) crafted_ids_.push_back(ids[std::size_t(i)]);
    p_.adversarial->craft(p_.model, clean_rows_.view(), adversarial_labels_, {epoch_, step_index, crafted_ids_, shard},
                             adversarial_);
  }

  // Per shard and epoch: cross-entropy, regulariser, loss, labelled anchors, correct ones.
  static constexpr std::size_t shard_stat_count = 5;

  Parts p_;
  AnchorStream stream_;
  std::int64_t steps_per_epoch_ = 0;
  std::uint32_t epoch_ = 0;
  std::vector<Parameter<T>*> params_;
  std::size_t gradient_length_ = 0;  // the parameters' values, all together
  Replicas<T> replicas_;             // the model and p_.replicas

  // Workspaces, resized per step (no allocation once they are large enough).
  std::vector<std::int64_t> sources_, crafted_from_;
  std::vector<std::uint32_t> neighbour_ids_, crafted_ids_;
  std::vector<int> labels_, source_labels_, adversarial_labels_, predicted_;
  bool terms_read_clean_rows_ = true;
  Tensor<T> items_, clean_rows_, batch_, r_, grad_, feature_grad_, adversarial_;
  std::vector<T> own_gradients_, summed_gradient_;  // this process's shards' gradients, their sum
  std::vector<double> shard_stats_, all_shard_stats_;
};

}  // namespace farbound
