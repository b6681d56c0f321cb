#pragma once
// train_to_completion: one TrainConfig run to its last epoch, with checkpoints every
// checkpoint_every epochs and after the last one, what farbound-train and a sweep of recipes both do.
// A resumed run calls Trainer::load_checkpoint first and continues from its epoch.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include "farbound/train/trainer.hpp"

namespace farbound {

// Where train_to_completion writes checkpoints, what they store, and its callbacks.
struct TrainingRunOptions {
  std::filesystem::path checkpoint;              // empty: no checkpoints
  std::map<std::string, std::string> metadata;   // stored in every checkpoint (e.g. the model spec)
  std::function<void(const StepProgress&)> on_step;  // after every optimiser step
  std::function<void(const EpochStats&)> on_epoch;   // after every epoch, before its checkpoint
};

// Trains from the trainer's current epoch to its last, checkpointing as described above.
template <class T>
void train_to_completion(Trainer<T>& trainer, const TrainingRunOptions& options = {}) {
  const auto every = std::uint32_t(trainer.config().checkpoint_every);
  while (!trainer.finished()) {
    const EpochStats stats = trainer.run_epoch(options.on_step);
    if (options.on_epoch) options.on_epoch(stats);
    if (!options.checkpoint.empty() && (trainer.epoch() % every == 0 || trainer.finished()))
      trainer.save_checkpoint(options.checkpoint, options.metadata);
  }
}

}  // namespace farbound
