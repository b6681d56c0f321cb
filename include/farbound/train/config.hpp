#pragma once
// TrainConfig: every switch of the reference trainer (main.py of
// MahsaPaknezhad/AdversariallyRobustTraining) and farbound's own (PGD and TRADES training,
// the data-parallel shards), in farbound's units (raw input units, e.g. [0,1] pixels), with
// validation and a JSON form for --config files and checkpoints.
//
// One table (for_each_setting) gives every setting its key, type, allowed range and meaning;
// validate(), the JSON reader and writer, and the tools' flags all read it, so a range is
// written once. Integers are read as integers: a fractional or out-of-range JSON value is an
// error, never truncated or wrapped.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "farbound/core/error.hpp"

namespace farbound {

// Every setting of a training run: the framework, the baselines, the optimisation.
struct TrainConfig {
  // The smoothness regulariser (the data-sparsity framework's loss).
  double grad_reg_lambda = 0;           // lambda; 0 = plain cross-entropy
  int num_unlabeled_per_labeled = 0;    // Nu
  double unlabeled_noise_std = 0.05;    // sigma_u
  int num_neighbor_per_anchor = 0;      // K
  double neighbor_noise_std = 0.005;    // sigma_n
  // Baselines.
  std::string adversarial = "none";     // none, fgsm, pgd (Madry et al.), trades (Zhang et al.)
  double epsilon = 0.1;                 // radius of the adversarial examples (input units)
  double adv_ratio = 0.3;               // CE = (c CE(x) + r CE(x_adv)) / (c + r): r (fgsm, pgd)
  double clean_weight = 1;              // c (fgsm, pgd; Madry's setting is c = 0, r = 1)
  int adv_steps = 10;                   // steps of pgd and trades, of size 2.5 eps / steps
  std::string adv_norm = "linf";        // linf or l2 (pgd)
  double trades_beta = 6;               // beta of TRADES's KL term
  double input_min = 0;                 // lower bound of the box pgd and trades examples stay in (fgsm: no box)
  double input_max = 1;                 // upper bound of that box
  bool jacobian = false;                // Jacobian regulariser instead of the smoothness loss
  int inject_noise = -1;                // >= 0: add the noise before this layer instead of at the input
  // Optimisation.
  std::string optimizer = "adam";       // adam, adamw, sgd
  // Base learning rate.
  double lr = 1e-3;
  // Weight decay (L2 in the gradient; decoupled for adamw).
  double weight_decay = 0;
  double momentum = 0.9;                // sgd only
  int linear_epoch = 0;                 // LinearCosine: constant lr for this many epochs, then cosine to 0
  // Epochs to train.
  int num_epochs = 10;
  int batch_size = 64;                  // anchors per step; 1 = the reference
  int shards = 1;                       // S: each batch's shards, summed in a fixed order (data-parallel)
  int replicas = 1;                     // R: each step's rows shared by the model and R - 1 copies, one thread each
  // Seed of the split, the initialisation and all noise.
  std::uint64_t seed = 27432;
  int checkpoint_every = 1;             // write the checkpoint every this many epochs

  void validate() const;
};

// One setting of the table: its key (snake_case; the flag is --key-with-dashes), the member
// it lives in, its allowed values [min, max] (max excluded when open_max) and its meaning.
template <class V>
struct Setting {
  // snake_case name; the flag is --key-with-dashes.
  const char* key;
  // The TrainConfig member it sets.
  V TrainConfig::*member;
  // Smallest allowed value.
  V min;
  // Largest allowed value (excluded when open_max).
  V max;
  // Whether max itself is excluded.
  bool open_max;
  // Meaning, for --help.
  const char* help;
};

// A setting chosen by name from a list.
struct ChoiceSetting {
  // snake_case name; the flag is --key-with-dashes.
  const char* key;
  // The TrainConfig member it sets.
  std::string TrainConfig::*member;
  // Allowed values.
  std::initializer_list<const char*> choices;
  // Meaning, for --help.
  const char* help;
};

// Calls f(setting) for every setting, in the order of the struct. The limits are generous
// bounds on sense (no run of the paper comes near them), not tuning advice.
template <class F>
void for_each_setting(F&& f) {
  using C = TrainConfig;
  f(Setting<double>{"grad_reg_lambda", &C::grad_reg_lambda, 0, 1e9, false, "lambda of the smoothness (or Jacobian) regulariser (0: off)"});
  f(Setting<int>{"num_unlabeled_per_labeled", &C::num_unlabeled_per_labeled, 0, 1000, false, "Nu: unlabelled copies of each labelled item"});
  f(Setting<double>{"unlabeled_noise_std", &C::unlabeled_noise_std, 0, 1e3, false, "sigma_u: noise of the unlabelled copies (input units)"});
  f(Setting<int>{"num_neighbor_per_anchor", &C::num_neighbor_per_anchor, 0, 1000, false, "K: neighbours per anchor"});
  f(Setting<double>{"neighbor_noise_std", &C::neighbor_noise_std, 0, 1e3, false, "sigma_n: noise of the neighbours (input units)"});
  f(ChoiceSetting{"adversarial", &C::adversarial, {"none", "fgsm", "pgd", "trades"},
                  "none, fgsm, pgd or trades"});
  f(Setting<double>{"epsilon", &C::epsilon, 0, 1e3, false, "radius of the adversarial examples (input units; fgsm: its step)"});
  f(Setting<double>{"adv_ratio", &C::adv_ratio, 0, 1e6, false, "weight r of the adversarial cross-entropy (fgsm, pgd)"});
  f(Setting<double>{"clean_weight", &C::clean_weight, 0, 1e6, false, "weight c of the clean cross-entropy (fgsm, pgd; Madry: 0)"});
  f(Setting<int>{"adv_steps", &C::adv_steps, 1, 10000, false, "steps of pgd and trades (step size 2.5 epsilon / steps)"});
  f(ChoiceSetting{"adv_norm", &C::adv_norm, {"linf", "l2"}, "linf or l2"});
  f(Setting<double>{"trades_beta", &C::trades_beta, 0, 1e6, false, "beta of TRADES's KL term"});
  f(Setting<double>{"input_min", &C::input_min, -1e9, 1e9, false, "lower bound of the inputs (pgd and trades clip to it)"});
  f(Setting<double>{"input_max", &C::input_max, -1e9, 1e9, false, "upper bound of the inputs (pgd and trades clip to it)"});
  f(Setting<bool>{"jacobian", &C::jacobian, false, true, false, "Jacobian regularisation instead of the smoothness loss"});
  f(Setting<int>{"inject_noise", &C::inject_noise, -1, 10000, false, "draw the noise at this layer's input instead of the input (-1: off)"});
  f(ChoiceSetting{"optimizer", &C::optimizer, {"adam", "adamw", "sgd"}, "adam, adamw or sgd"});
  f(Setting<double>{"lr", &C::lr, 0, 100, false, "base learning rate"});
  f(Setting<double>{"weight_decay", &C::weight_decay, 0, 100, false, "L2 weight decay (decoupled for adamw)"});
  f(Setting<double>{"momentum", &C::momentum, 0, 1, true, "sgd momentum"});
  f(Setting<int>{"linear_epoch", &C::linear_epoch, 0, 1000000, false, "epochs at constant lr before the cosine decay (< num_epochs)"});
  f(Setting<int>{"num_epochs", &C::num_epochs, 1, 1000000, false, "epochs"});
  f(Setting<int>{"batch_size", &C::batch_size, 1, 65536, false, "anchors per step (1 = the reference)"});
  f(Setting<int>{"shards", &C::shards, 1, 65536, false,
                 "S: each batch cut into S shards whose gradients add in a fixed order; the same weights on 1 to S MPI ranks"});
  f(Setting<int>{"replicas", &C::replicas, 1, 256, false,
                 "R: each step's rows split over the model and R - 1 copies, one thread each (the same weights on any thread count)"});
  f(Setting<std::uint64_t>{"seed", &C::seed, 0, std::numeric_limits<std::uint64_t>::max(), false, "seed of the split, initialisation and all noise"});
  f(Setting<int>{"checkpoint_every", &C::checkpoint_every, 1, 1000000, false, "write the checkpoint every this many epochs"});
}

// A limit as people write it: %g for reals, 2^64 - 1 for the largest 64-bit value.
template <class V>
std::string limit_text(V v) {
  if constexpr (std::is_floating_point_v<V>) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", double(v));
    return buf;
  } else {
    if (std::uint64_t(v) == std::numeric_limits<std::uint64_t>::max() && v > 0) return "2^64 - 1";
    return std::to_string(v);
  }
}

// Whether v lies within the setting's limits.
template <class V>
bool in_limits(const Setting<V>& s, V v) {
  return v >= s.min && (s.open_max ? v < s.max : v <= s.max);
}

// The setting's limits as "[min, max]" (or "[min, max)").
template <class V>
std::string limits_text(const Setting<V>& s) {
  return "[" + limit_text(s.min) + ", " + limit_text(s.max) + (s.open_max ? ")" : "]");
}

// Throws argument_error naming the first impossible value or combination: a value outside
// its setting's limits, or a switch that the other settings would make do nothing.
inline void TrainConfig::validate() const {
  auto need = [](bool ok, const std::string& what) {
    if (!ok) throw argument_error("TrainConfig: " + what);
  };
  for_each_setting([&](const auto& s) {
    if constexpr (std::is_same_v<std::decay_t<decltype(s)>, ChoiceSetting>) {
      bool known = false;
      for (const char* c : s.choices) known = known || this->*s.member == c;
      need(known, std::string(s.key) + " must be one of " + s.help + ", got '" + this->*s.member + "'");
    } else if constexpr (!std::is_same_v<std::decay_t<decltype(s.min)>, bool>) {
      const auto v = this->*s.member;
      if constexpr (std::is_floating_point_v<std::decay_t<decltype(v)>>)
        need(std::isfinite(v) && in_limits(s, v), std::string(s.key) + " must lie in " + limits_text(s) + ", got " + limit_text(v));
      else
        need(in_limits(s, v), std::string(s.key) + " must be an integer in " + limits_text(s) + ", got " + limit_text(v));
    }
  });
  need(linear_epoch < num_epochs, "linear_epoch must be < num_epochs (" + std::to_string(num_epochs) + "), got " +
                                      std::to_string(linear_epoch));
  // Switches that would do nothing: the regulariser needs neighbours (the Jacobian's finite
  // differences and GR are both taken over them), and neighbours or unlabelled copies without
  // a regulariser are ignored work.
  const bool regularised = grad_reg_lambda > 0;
  need(!regularised || num_neighbor_per_anchor > 0,
       "grad_reg_lambda > 0 needs num_neighbor_per_anchor >= 1 (the regulariser is taken over the neighbours)");
  need(num_neighbor_per_anchor == 0 || neighbor_noise_std >= 1e-6,
       "num_neighbor_per_anchor >= 1 needs neighbor_noise_std >= 1e-6 (the regulariser divides by the neighbours' "
       "squared distances)");
  need(regularised || num_neighbor_per_anchor == 0, "num_neighbor_per_anchor > 0 needs grad_reg_lambda > 0 (else the neighbours are unused)");
  need(regularised || num_unlabeled_per_labeled == 0,
       "num_unlabeled_per_labeled > 0 needs grad_reg_lambda > 0 (unlabelled copies only enter the regulariser)");
  need(regularised || !jacobian, "jacobian needs grad_reg_lambda > 0");
  need(!(inject_noise >= 0 && adversarial != "none"),
       "inject_noise with adversarial training is not supported (as in the reference)");
  need(input_min < input_max, "input_min must be < input_max");
  need(shards <= batch_size, "shards must be <= batch_size (" + std::to_string(batch_size) + "), got " + std::to_string(shards) +
                                 " (every shard needs an anchor)");
  need(!((adversarial == "fgsm" || adversarial == "pgd") && clean_weight + adv_ratio == 0),
       "clean_weight + adv_ratio must be > 0 (else the cross-entropy has no weight)");
  need(!(adversarial == "trades" && adv_norm != "linf"), "adversarial trades needs adv_norm linf (TRADES is L-inf)");
  need(!(inject_noise >= 0 && !regularised), "inject_noise needs grad_reg_lambda > 0 (the injected noise feeds the regulariser)");
  need(!(inject_noise >= 0 && replicas > 1), "inject_noise with replicas > 1 is not supported");
}

// Writes every setting.
inline void to_json(nlohmann::json& j, const TrainConfig& c) {
  j = nlohmann::json::object();
  for_each_setting([&](const auto& s) { j[s.key] = c.*s.member; });
}

// Reads the keys present in j over c's current values. An unknown key, a value of the wrong
// type (a fraction for an integer, a string for a number) or outside its limits is an
// argument_error naming the key: a typo in a config file must not be ignored or rounded.
// "log_freq" (the reference trainer's name, and ours in checkpoints written before the
// rename) is read as checkpoint_every.
inline void update_from_json(TrainConfig& c, const nlohmann::json& j) {
  if (!j.is_object()) throw argument_error("TrainConfig: the JSON config must be an object, got " + std::string(j.type_name()));
  for (const auto& item : j.items()) {
    const std::string_view key = item.key() == "log_freq" ? "checkpoint_every" : std::string_view(item.key());
    bool known = false;
    for_each_setting([&](const auto& s) {
      if (key != s.key) return;
      known = true;
      const nlohmann::json& v = item.value();
      const std::string got = v.dump().substr(0, 40);
      const auto fail = [&](const std::string& want) {
        throw argument_error("TrainConfig: " + item.key() + " must be " + want + ", got " + got);
      };
      using S = std::decay_t<decltype(s)>;
      if constexpr (std::is_same_v<S, ChoiceSetting>) {
        // Checkpoints and configs written before adversarial training had kinds hold a bool.
        if (s.member == &TrainConfig::adversarial && v.is_boolean()) {
          c.adversarial = v.get<bool>() ? "fgsm" : "none";
          return;
        }
        if (!v.is_string()) fail(std::string("one of ") + s.help);
        c.*s.member = v.get<std::string>();
      } else {
        using V = std::decay_t<decltype(s.min)>;
        if constexpr (std::is_same_v<V, bool>) {
          if (!v.is_boolean()) fail("true or false");
          c.*s.member = v.get<bool>();
        } else if constexpr (std::is_floating_point_v<V>) {
          if (!v.is_number() || !std::isfinite(v.get<double>()) || !in_limits(s, v.get<double>()))
            fail("a number in " + limits_text(s));
          c.*s.member = v.get<double>();
        } else {
          const std::string want = "an integer in " + limits_text(s);
          if (v.is_number_unsigned()) {
            const auto u = v.get<std::uint64_t>();
            if (u > std::uint64_t(std::numeric_limits<V>::max()) || !in_limits(s, V(u))) fail(want);
            c.*s.member = V(u);
          } else if (v.is_number_integer()) {
            const auto i = v.get<std::int64_t>();
            if (i < 0 && std::is_unsigned_v<V>) fail(want);
            if (i < std::int64_t(std::numeric_limits<V>::min()) || !in_limits(s, V(i))) fail(want);
            c.*s.member = V(i);
          } else {
            fail(want);
          }
        }
      }
    });
    if (!known) throw argument_error("TrainConfig: unknown key '" + item.key() + "'");
  }
}

// Reads the settings in `j` (keys of for_each_setting, snake_case) into `c`; unknown keys are errors.
inline void from_json(const nlohmann::json& j, TrainConfig& c) {
  c = TrainConfig{};
  update_from_json(c, j);
}

// The settings in `text`, which must be exactly one JSON object and nothing after it (no
// NUL bytes: a C string reader would stop there), over `base`.
inline TrainConfig train_config_from_json(std::string_view text, TrainConfig base = {}) {
  if (const auto nul = text.find('\0'); nul != std::string_view::npos)
    throw argument_error("TrainConfig: NUL byte at offset " + std::to_string(nul) + " (not a JSON text)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw argument_error(std::string("TrainConfig: not valid JSON: ") + e.what());
  }
  update_from_json(base, j);
  return base;
}

}  // namespace farbound
