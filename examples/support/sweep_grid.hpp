#pragma once
// farbound-sweep's grid: a JSON file that names a base run, the axes to vary, the seeds and
// the evaluation of every trained model, expanded into runs with stable names.
//
//   {"base": {"dataset": "fashion-mnist", "model": "lenet", "num_train": 1000, "num_epochs": 5,
//             "num_neighbor_per_anchor": 1, "num_unlabeled_per_labeled": 1},
//    "axes": {"grad_reg_lambda": [1, 100, 10000],
//             "method": {"smooth": {}, "jacobian": {"jacobian": true}}},
//    "seeds": [1, 2, 3, 4, 5],
//    "evaluation": {"attacks": ["fgsm", "pgd"], "epsilons": [0.05, 0.1], "points": 1000}}
//
// A run's settings are the base, then one value of every axis over it: a list of values of
// one key, or an object of labelled groups of keys (baselines that change several settings at
// once). Keys are farbound-train's: every TrainConfig setting (snake_case) and dataset,
// data_dir, model, activation, hidden, num_train, num_val, val_fraction. The seed comes from
// "seeds" only. A run is named "<axis>=<value>,..." (axes in alphabetical order) plus
// "/seed=<seed>", which is also its folder: the same grid always names the same runs.
#include <cstdint>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "farbound/core/error.hpp"
#include "farbound/train/config.hpp"
#include "support/number_text.hpp"

namespace examples {

// What is measured on every trained model: clean accuracy on the whole test set, and robust
// accuracy under each attack at each epsilon on the first `points` test images.
struct SweepEvaluation {
  std::vector<std::string> attacks{"fgsm", "pgd"};  // fgsm, pgd (L-inf)
  std::vector<double> epsilons{0.1};
  std::int64_t points = 1000;
  int pgd_steps = 20;
};

struct SweepRun {
  std::string setting;      // "grad_reg_lambda=100,method=smooth" ("base" without axes)
  std::uint64_t seed = 0;
  nlohmann::json settings;  // the flat settings object, seed included
  std::string name() const { return setting + "/seed=" + std::to_string(seed); }
};

struct SweepGrid {
  std::vector<std::string> axes;  // alphabetical
  std::vector<SweepRun> runs;     // settings in axis order (the first axis slowest), seeds innermost
  SweepEvaluation evaluation;
};

// The keys of a run besides TrainConfig's.
inline const std::set<std::string>& run_keys() {
  static const std::set<std::string> keys{"dataset", "data_dir", "model",   "activation",
                                          "hidden",  "num_train", "num_val", "val_fraction"};
  return keys;
}

namespace detail {

inline void require_known_keys(const nlohmann::json& settings, const std::string& where) {
  if (!settings.is_object()) throw farbound::argument_error(where + " must be an object of settings");
  std::set<std::string> known = run_keys();
  farbound::for_each_setting([&](const auto& s) { known.insert(s.key); });
  for (const auto& item : settings.items()) {
    if (item.key() == "seed") throw farbound::argument_error(where + ": the seed comes from \"seeds\", not a setting");
    if (!known.count(item.key())) throw farbound::argument_error(where + ": unknown setting '" + item.key() + "'");
  }
}

// A value as it appears in a run's name.
inline std::string value_text(const nlohmann::json& v) {
  if (v.is_number_float()) return significant(v.get<double>());
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// The values of one axis as (label, settings over the base).
inline std::vector<std::pair<std::string, nlohmann::json>> axis_values(const std::string& axis, const nlohmann::json& spec) {
  std::vector<std::pair<std::string, nlohmann::json>> out;
  const std::string where = "axes." + axis;
  if (spec.is_array()) {
    require_known_keys(nlohmann::json{{axis, 0}}, "axes");
    for (const auto& v : spec) {
      if (v.is_object() || v.is_array()) throw farbound::argument_error(where + ": a list axis takes plain values");
      out.emplace_back(value_text(v), nlohmann::json{{axis, v}});
    }
  } else if (spec.is_object()) {
    for (const auto& item : spec.items()) {
      require_known_keys(item.value(), where + "." + item.key());
      out.emplace_back(item.key(), item.value());
    }
  } else {
    throw farbound::argument_error(where + " must be a list of values or an object of labelled settings");
  }
  if (out.empty()) throw farbound::argument_error(where + " has no values");
  for (const auto& [label, _] : out)
    if (label.empty() || label.find_first_of("/,=") != std::string::npos || label == "." || label == "..")
      throw farbound::argument_error(where + ": '" + label + "' cannot be part of a run's folder name");
  return out;
}

inline SweepEvaluation evaluation_from_json(const nlohmann::json& j) {
  SweepEvaluation e;
  if (j.is_null()) return e;
  if (!j.is_object()) throw farbound::argument_error("evaluation must be an object");
  try {
    for (const auto& item : j.items()) {
      if (item.key() == "attacks") e.attacks = item.value().get<std::vector<std::string>>();
      else if (item.key() == "epsilons") e.epsilons = item.value().get<std::vector<double>>();
      else if (item.key() == "points" && item.value().is_number_integer()) e.points = item.value().get<std::int64_t>();
      else if (item.key() == "pgd_steps" && item.value().is_number_integer()) e.pgd_steps = item.value().get<int>();
      else throw farbound::argument_error("evaluation: unknown key or wrong type: " + item.key() + " " + item.value().dump());
    }
  } catch (const nlohmann::json::exception& e) {
    throw farbound::argument_error(std::string("evaluation: ") + e.what());
  }
  for (const auto& a : e.attacks)
    if (a != "fgsm" && a != "pgd") throw farbound::argument_error("evaluation.attacks: '" + a + "' (allowed: fgsm, pgd)");
  for (double eps : e.epsilons)
    if (!(eps > 0 && eps <= 1)) throw farbound::argument_error("evaluation.epsilons: " + significant(eps) + " is outside (0, 1]");
  if (e.points < 1) throw farbound::argument_error("evaluation.points must be >= 1");
  if (e.pgd_steps < 1 || e.pgd_steps > 100000) throw farbound::argument_error("evaluation.pgd_steps must lie in [1, 100000]");
  return e;
}

}  // namespace detail

inline SweepGrid expand_grid(const nlohmann::json& grid) {
  if (!grid.is_object()) throw farbound::argument_error("the grid must be a JSON object");
  for (const auto& item : grid.items())
    if (item.key() != "base" && item.key() != "axes" && item.key() != "seeds" && item.key() != "evaluation")
      throw farbound::argument_error("unknown key '" + item.key() + "' (allowed: base, axes, seeds, evaluation)");
  const nlohmann::json base = grid.value("base", nlohmann::json::object());
  detail::require_known_keys(base, "base");
  SweepGrid out;
  out.evaluation = detail::evaluation_from_json(grid.value("evaluation", nlohmann::json()));
  const nlohmann::json axes = grid.value("axes", nlohmann::json::object());
  if (!axes.is_object()) throw farbound::argument_error("axes must be an object");
  std::vector<std::vector<std::pair<std::string, nlohmann::json>>> values;
  for (const auto& item : axes.items()) {
    out.axes.push_back(item.key());
    values.push_back(detail::axis_values(item.key(), item.value()));
  }
  const nlohmann::json seeds = grid.value("seeds", nlohmann::json::array({27432}));
  if (!seeds.is_array() || seeds.empty()) throw farbound::argument_error("seeds must be a non-empty list");
  std::set<std::uint64_t> seen;
  for (const auto& s : seeds)
    if (!s.is_number_unsigned() || !seen.insert(s.get<std::uint64_t>()).second)
      throw farbound::argument_error("seeds: " + s.dump() + " is not a new non-negative integer");

  // The cartesian product, the last axis fastest: an odometer over the axes.
  std::vector<std::size_t> at(values.size(), 0);
  for (bool more = true; more;) {
    nlohmann::json settings = base;
    std::string setting;
    for (std::size_t a = 0; a < values.size(); ++a) {
      const auto& [label, overrides] = values[a][at[a]];
      settings.update(overrides);
      setting += (a ? "," : "") + out.axes[a] + "=" + label;
    }
    for (const auto& s : seeds) {
      SweepRun run{setting.empty() ? "base" : setting, s.get<std::uint64_t>(), settings};
      run.settings["seed"] = run.seed;
      out.runs.push_back(std::move(run));
    }
    more = false;
    for (std::size_t a = values.size(); a-- > 0 && !more;) {
      more = ++at[a] < values[a].size();
      if (!more) at[a] = 0;
    }
  }
  return out;
}

inline SweepGrid read_grid(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw farbound::argument_error(path + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return expand_grid(nlohmann::json::parse(text.str()));
  } catch (const nlohmann::json::exception& e) {
    throw farbound::argument_error(path + ": " + e.what());
  } catch (const farbound::argument_error& e) {
    throw farbound::argument_error(path + ": " + e.what());
  }
}

}  // namespace examples
