#pragma once
// farbound-train's flags: the data and the model of the run, its training settings (one flag
// per TrainConfig setting over an optional --config file, support/train_config_flags.hpp),
// the threads, and the files it writes and resumes from.
#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include "farbound/train/config.hpp"
#include "support/flags.hpp"
#include "support/train_config_flags.hpp"
#include "support/train_run.hpp"

namespace examples {

struct TrainFlags {
  TrainRun run;  // its config is set by check_train_flags
  farbound::TrainConfig config_flags;  // the settings as flags; given ones win over --config
  std::string data_dir, config_file;
  int threads = 0;
};

inline void add_train_flags(CLI::App& app, TrainFlags& f) {
  app.option_defaults()->always_capture_default();
  TrainRun& run = f.run;
  app.add_option("--dataset", run.dataset, "fashion-mnist, mnist or cifar10")
      ->check(CLI::IsMember({"fashion-mnist", "mnist", "cifar10"}));
  app.add_option("--data-dir", f.data_dir, "directory of the data files (default for fashion-mnist: Debian's)");
  app.add_option("--model", run.model, "lenet, mlp or resnet9")->check(CLI::IsMember({"lenet", "mlp", "resnet9"}));
  app.add_option("--activation", run.activation, "relu, leaky_relu, sigmoid, tanh, celu, softplus or mish")
      ->check(CLI::IsMember({"relu", "leaky_relu", "sigmoid", "tanh", "celu", "softplus", "mish"}));
  app.add_option("--hidden", run.hidden, "hidden widths of the mlp")->delimiter(',')->check(integer_in<std::int64_t>(1, 65536));
  app.add_option("--num-train", run.num_train, "training images per class")->check(count_or_all(1, 10000000));
  app.add_option("--num-val", run.num_val, "validation images per class (0: no validation)")
      ->check(count_or_all(0, 10000000));
  app.add_option("--val-fraction", run.val_fraction, "fraction of each class held out for validation")
      ->check(number_in(0.0, 0.9));
  app.add_option("--config", f.config_file, "JSON file of training settings (snake_case keys); flags given too win");
  add_train_config_flags(app, f.config_flags);
  app.add_option("--threads", f.threads,
                 "OpenMP threads (0: OpenMP's default, or under mpirun the cores shared among the ranks; more than " +
                     std::to_string(max_threads) + " are capped)")
      ->check(integer_in(0, 1 << 20));
  app.add_option("--log", run.log_file, "JSON Lines log, one object per epoch");
  app.add_option("--out", run.out_file, "where to save the final model");
  app.add_option("--checkpoint", run.checkpoint_file, "resumable checkpoint file (written every --checkpoint-every epochs)");
  app.add_option("--resume", run.resume_file, "continue from this checkpoint (model, data selection and settings must match)");
  app.add_flag("--test", run.test, "also evaluate the test set every epoch");
}

// After parsing: the thread count (--threads 0 takes `default_threads`, the ranks' share of
// the cores under mpirun), the run's settings from --config and the flags, the output files.
inline void check_train_flags(const CLI::App& app, TrainFlags& f, int default_threads) {
  apply_threads(f.threads > 0 ? f.threads : default_threads, app.get_name());
  f.run.config = resolve_train_config(app, f.config_flags, f.config_file);
  check_output_file("--out", f.run.out_file);
  if (!f.run.checkpoint_file.empty()) check_output_file("--checkpoint", f.run.checkpoint_file);
  if (!f.run.log_file.empty()) check_output_file("--log", f.run.log_file);
}

}  // namespace examples
