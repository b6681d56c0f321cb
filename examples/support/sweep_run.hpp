#pragma once
// One run of a sweep, in its own folder (OUT/runs/<setting>/seed=<seed>/):
//   settings.json       the run's settings
//   log.jsonl           one line per epoch (farbound-train's --log)
//   checkpoint.safetensors  written every checkpoint_every epochs; a restarted sweep resumes from it
//   model.safetensors   the trained model
//   result.json         the evaluation, written last: its presence means "done"
//   error.json          the error of a failed run (bad setting, diverged, unreadable data)
// result.json and error.json are written atomically (a temporary file renamed), so a kill
// at any moment leaves a run done, failed, or resumable, never half-recorded.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "farbound/attack/fgsm.hpp"
#include "farbound/attack/pgd.hpp"
#include "farbound/io/safetensors.hpp"
#include "farbound/train/batch_source.hpp"
#include "farbound/metrics/robust_accuracy.hpp"
#include "support/datasets.hpp"
#include "support/sweep_grid.hpp"
#include "support/train_run.hpp"

namespace examples {

enum class RunState { pending, done, failed };

inline std::filesystem::path run_dir(const std::filesystem::path& out, const SweepRun& run) {
  return out / "runs" / run.setting / ("seed=" + std::to_string(run.seed));
}

inline RunState run_state(const std::filesystem::path& dir) {
  if (std::filesystem::exists(dir / "result.json")) return RunState::done;
  if (std::filesystem::exists(dir / "error.json")) return RunState::failed;
  return RunState::pending;
}

inline void write_json_atomically(const std::filesystem::path& path, const nlohmann::json& j) {
  const std::filesystem::path temporary = path.string() + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::binary);
    out << j.dump(2) << '\n';
    if (!out.flush()) throw farbound::io_error(temporary.string() + ": cannot write");
  }
  std::filesystem::rename(temporary, path);
}

// The data sets a worker has loaded, so that a sweep reads each once per process.
class DataCache {
 public:
  const ImageData& get(const std::string& dataset, const std::string& dir) {
    const auto key = dataset + '\n' + dir;
    auto it = loaded_.find(key);
    if (it == loaded_.end()) it = loaded_.emplace(key, load_image_data(dataset, dir)).first;
    return it->second;
  }

 private:
  std::map<std::string, ImageData> loaded_;
};

namespace detail {

// A flat settings object as farbound-train's run: run keys to TrainRun, the rest to TrainConfig.
inline TrainRun train_run_of(const nlohmann::json& settings, std::string& data_dir) {
  TrainRun run;
  nlohmann::json config = nlohmann::json::object();
  for (const auto& [key, value] : settings.items()) {
    if (key == "dataset") run.dataset = value.get<std::string>();
    else if (key == "data_dir") data_dir = value.get<std::string>();
    else if (key == "model") run.model = value.get<std::string>();
    else if (key == "activation") run.activation = value.get<std::string>();
    else if (key == "hidden") run.hidden = value.get<std::vector<std::int64_t>>();
    else if (key == "num_train") run.num_train = value.get<std::int64_t>();
    else if (key == "num_val") run.num_val = value.get<std::int64_t>();
    else if (key == "val_fraction") run.val_fraction = value.get<double>();
    else config[key] = value;
  }
  run.config = farbound::train_config_from_json(config.dump());
  return run;
}

// A resumed run keeps the log lines of the epochs its checkpoint holds and drops the ones a
// kill left behind it; a run without a checkpoint starts its log afresh.
inline void trim_log(const std::filesystem::path& log, const std::filesystem::path& checkpoint) {
  if (!std::filesystem::exists(log)) return;
  std::uint32_t keep = 0;
  if (std::filesystem::exists(checkpoint))
    keep = std::uint32_t(std::stoul(farbound::read_safetensors(checkpoint).metadata.at("farbound.epoch")));
  std::ifstream in(log);
  std::string kept, line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("epoch", 0u) <= keep) kept += line + '\n';
  }
  in.close();
  std::ofstream(log, std::ios::trunc) << kept;
}

inline nlohmann::json evaluate_run(farbound::Sequential<float>& model, const ImageData& data, const SweepEvaluation& e,
                                   std::uint64_t seed) {
  using namespace farbound;
  const BatchSource<float> test = image_source<float>(data.test, image_options(data.test));
  nlohmann::json out = {{"clean_accuracy", evaluate(model, test).accuracy}, {"epsilons", e.epsilons}};
  std::vector<std::int64_t> idx(std::size_t(std::min(e.points, test.size)));
  std::iota(idx.begin(), idx.end(), 0);
  Tensor<float> x;
  std::vector<int> y;
  test.load(idx, 0, x, y);
  out["points"] = idx.size();
  for (const auto& name : e.attacks) {
    Fgsm<float> fgsm;
    Pgd<float> pgd(PgdOptions{.steps = e.pgd_steps, .seed = seed});
    const auto curve = name == "fgsm" ? robust_accuracy<float>(model, fgsm, x.view(), y, e.epsilons)
                                      : robust_accuracy<float>(model, pgd, x.view(), y, e.epsilons);
    out["robust_accuracy"][name] = curve.accuracy;
  }
  return out;
}

}  // namespace detail

// Trains and evaluates `run` (resuming from its checkpoint if one is there) and records the
// result, or the error that stopped it, in its folder. Never throws for a failing run.
inline RunState execute_run(const SweepRun& run, const SweepEvaluation& evaluation, const std::filesystem::path& out,
                            DataCache& data) {
  const std::filesystem::path dir = run_dir(out, run);
  std::filesystem::create_directories(dir);
  nlohmann::json record = {{"name", run.name()}, {"setting", run.setting}, {"seed", run.seed}, {"settings", run.settings}};
  try {
    std::ofstream(dir / "settings.json") << run.settings.dump(2) << '\n';
    std::string data_dir;
    TrainRun train = detail::train_run_of(run.settings, data_dir);
    train.log_file = (dir / "log.jsonl").string();
    train.checkpoint_file = (dir / "checkpoint.safetensors").string();
    train.out_file = (dir / "model.safetensors").string();
    train.label = run.name() + ": ";
    detail::trim_log(train.log_file, train.checkpoint_file);
    if (std::filesystem::exists(train.checkpoint_file)) train.resume_file = train.checkpoint_file;
    const ImageData& images = data.get(train.dataset, data_dir);
    const auto start = std::chrono::steady_clock::now();
    TrainedModel trained = train_model(train, images);
    record.update(detail::evaluate_run(trained.model, images, evaluation, run.seed));
    record["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    write_json_atomically(dir / "result.json", record);
    std::printf("%s: done, clean accuracy %.2f%%\n", run.name().c_str(), 100 * record["clean_accuracy"].get<double>());
    return RunState::done;
  } catch (const std::exception& e) {
    record["error"] = e.what();
    write_json_atomically(dir / "error.json", record);
    std::printf("%s: failed: %s\n", run.name().c_str(), e.what());
    return RunState::failed;
  }
}

}  // namespace examples
