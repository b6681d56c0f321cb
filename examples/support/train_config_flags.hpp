#pragma once
// farbound-train's training settings on the command line: one flag per TrainConfig setting
// (--key-with-dashes, typed and ranged from the library's table), an optional --config JSON
// file under them, and the checks that keep a switch from being silently ignored.
#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <type_traits>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "farbound/train/config.hpp"
#include "farbound/train/trainer.hpp"
#include "support/flags.hpp"

namespace examples {

// "--num-epochs" for the setting "num_epochs".
inline std::string flag_of(std::string key) {
  std::replace(key.begin(), key.end(), '_', '-');
  return "--" + key;
}

// Every setting of the table as a flag bound to cfg's member, its range in --help.
inline void add_train_config_flags(CLI::App& app, farbound::TrainConfig& cfg) {
  farbound::for_each_setting([&](const auto& s) {
    using S = std::decay_t<decltype(s)>;
    const std::string flag = flag_of(s.key);
    if constexpr (std::is_same_v<S, farbound::ChoiceSetting>) {
      app.add_option(flag, cfg.*s.member, s.help)->check(CLI::IsMember(std::vector<std::string>(s.choices.begin(), s.choices.end())));
    } else {
      using V = std::decay_t<decltype(s.min)>;
      if constexpr (std::is_same_v<V, bool>)
        app.add_flag(flag, cfg.*s.member, s.help);
      else if constexpr (std::is_floating_point_v<V>)
        app.add_option(flag, cfg.*s.member, s.help)->check(number_in(s.min, s.max, s.open_max));
      else
        app.add_option(flag, cfg.*s.member, s.help)->check(integer_in<V>(s.min, s.max));
    }
  });
}

// A library message about settings in the tool's words: each key becomes its flag.
inline std::string in_flag_words(const std::string& message) {
  std::string out = message;
  farbound::for_each_setting([&](const auto& s) {
    out = std::regex_replace(out, std::regex("\\b" + std::string(s.key) + "\\b"), flag_of(s.key));
  });
  const std::string prefix = "TrainConfig: ";
  return out.rfind(prefix, 0) == 0 ? out.substr(prefix.size()) : out;
}

// The settings of this run: the --config file (if any), then every flag given over it,
// checked as a whole. A setting of a mode that is off (given as a flag, or with a value
// other than the default in the file) is a usage error: it would be ignored.
inline farbound::TrainConfig resolve_train_config(const CLI::App& app, const farbound::TrainConfig& flags,
                                                  const std::string& config_file) {
  using farbound::argument_error;
  farbound::TrainConfig cfg;
  nlohmann::json from_file = nlohmann::json::object();
  if (!config_file.empty()) {
    std::ifstream in(config_file, std::ios::binary);
    if (!in) throw argument_error("--config " + config_file + ": cannot open");
    std::ostringstream text;
    text << in.rdbuf();
    try {
      cfg = farbound::train_config_from_json(text.str());
    } catch (const argument_error& e) {
      throw argument_error("--config " + config_file + ": " + in_flag_words(e.what()));
    }
    from_file = nlohmann::json::parse(text.str());
  }
  const nlohmann::json given = flags, defaults = farbound::TrainConfig{};
  nlohmann::json merged = cfg;
  for (const auto& item : given.items())
    if (app.count(flag_of(item.key())) > 0) merged[item.key()] = item.value();
  cfg = merged.get<farbound::TrainConfig>();
  try {
    cfg.validate();
  } catch (const argument_error& e) {
    throw argument_error(in_flag_words(e.what()));
  }
  const auto set = [&](const char* key) {
    return app.count(flag_of(key)) > 0 || (from_file.contains(key) && from_file[key] != defaults[key]);
  };
  const auto need = [&](const char* key, bool mode_on, const std::string& mode) {
    if (set(key) && !mode_on) throw argument_error(flag_of(key) + " has no effect without " + mode);
  };
  const bool mixed_ce = cfg.adversarial == "fgsm" || cfg.adversarial == "pgd";
  const bool iterative = cfg.adversarial == "pgd" || cfg.adversarial == "trades";
  need("epsilon", cfg.adversarial != "none", "--adversarial");
  need("adv_ratio", mixed_ce, "--adversarial fgsm or pgd");
  need("clean_weight", mixed_ce, "--adversarial fgsm or pgd");
  need("adv_steps", iterative, "--adversarial pgd or trades");
  need("input_min", iterative, "--adversarial pgd or trades");
  need("input_max", iterative, "--adversarial pgd or trades");
  need("adv_norm", cfg.adversarial == "pgd", "--adversarial pgd");
  need("trades_beta", cfg.adversarial == "trades", "--adversarial trades");
  need("momentum", cfg.optimizer == "sgd", "--optimizer sgd");
  need("unlabeled_noise_std", cfg.num_unlabeled_per_labeled > 0, "--num-unlabeled-per-labeled >= 1");
  need("neighbor_noise_std", cfg.num_neighbor_per_anchor > 0, "--num-neighbor-per-anchor >= 1");
  return cfg;
}

// --resume: the trainer continues from `path`; a checkpoint of another run is a usage error
// naming the flag and what differs.
template <class T>
void resume(farbound::Trainer<T>& trainer, const std::string& path, const std::map<std::string, std::string>& expected) {
  try {
    trainer.load_checkpoint(path, expected);
  } catch (const farbound::argument_error& e) {
    throw farbound::argument_error("--resume " + in_flag_words(e.what()));
  }
}

}  // namespace examples
