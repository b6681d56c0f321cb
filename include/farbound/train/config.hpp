#pragma once
// TrainConfig: every switch of the reference trainer (main.py of
// MahsaPaknezhad/AdversariallyRobustTraining), in farbound's units (raw input units, e.g.
// [0,1] pixels), with validation and a JSON form for --config files and checkpoints.
#include <cmath>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "farbound/core/error.hpp"

namespace farbound {

struct TrainConfig {
  // The smoothness regulariser (PAPERS.md section 1).
  double grad_reg_lambda = 0;           // lambda; 0 = plain cross-entropy
  int num_unlabeled_per_labeled = 0;    // Nu
  double unlabeled_noise_std = 0.05;    // sigma_u
  int num_neighbor_per_anchor = 0;      // K
  double neighbor_noise_std = 0.005;    // sigma_n
  // Baselines.
  bool adversarial = false;             // FGSM adversarial training on labelled anchors
  double epsilon = 0.1;                 // FGSM step (L-inf, input units)
  double adv_ratio = 0.3;               // CE = (CE(x) + r CE(x_adv)) / (1 + r)
  bool jacobian = false;                // Jacobian regulariser instead of the smoothness loss
  int inject_noise = -1;                // >= 0: add the noise before this layer instead of at the input
  // Optimisation.
  std::string optimizer = "adam";       // adam, adamw, sgd
  double lr = 1e-3;
  double weight_decay = 0;
  double momentum = 0.9;                // sgd only
  int linear_epoch = 0;                 // LinearCosine: constant lr for this many epochs, then cosine to 0
  int num_epochs = 10;
  int batch_size = 64;                  // anchors per step; 1 = the reference
  std::uint64_t seed = 27432;
  int log_freq = 1;                     // checkpoint every log_freq epochs

  // Throws argument_error naming the first impossible value.
  void validate() const {
    auto need = [](bool ok, const std::string& what) {
      if (!ok) throw argument_error("TrainConfig: " + what);
    };
    auto finite_nonneg = [&](double v, const char* name) {
      need(std::isfinite(v) && v >= 0, std::string(name) + " must be finite and >= 0, got " + std::to_string(v));
    };
    finite_nonneg(grad_reg_lambda, "grad_reg_lambda");
    finite_nonneg(unlabeled_noise_std, "unlabeled_noise_std");
    finite_nonneg(neighbor_noise_std, "neighbor_noise_std");
    finite_nonneg(epsilon, "epsilon");
    finite_nonneg(adv_ratio, "adv_ratio");
    finite_nonneg(lr, "lr");
    finite_nonneg(weight_decay, "weight_decay");
    finite_nonneg(momentum, "momentum");
    need(num_unlabeled_per_labeled >= 0, "num_unlabeled_per_labeled must be >= 0, got " + std::to_string(num_unlabeled_per_labeled));
    need(num_neighbor_per_anchor >= 0, "num_neighbor_per_anchor must be >= 0, got " + std::to_string(num_neighbor_per_anchor));
    need(optimizer == "adam" || optimizer == "adamw" || optimizer == "sgd", "optimizer must be adam, adamw or sgd, got '" + optimizer + "'");
    need(num_epochs >= 1, "num_epochs must be >= 1, got " + std::to_string(num_epochs));
    need(linear_epoch >= 0 && linear_epoch < num_epochs,
         "linear_epoch must lie in [0, num_epochs), got " + std::to_string(linear_epoch));
    need(batch_size >= 1, "batch_size must be >= 1, got " + std::to_string(batch_size));
    need(log_freq >= 1, "log_freq must be >= 1, got " + std::to_string(log_freq));
    need(inject_noise >= -1, "inject_noise must be a layer index or -1, got " + std::to_string(inject_noise));
    const bool regularised = grad_reg_lambda > 0;
    need(!regularised || num_neighbor_per_anchor > 0 || jacobian,
         "grad_reg_lambda > 0 needs num_neighbor_per_anchor >= 1 (or jacobian)");
    need(!(inject_noise >= 0 && adversarial), "inject_noise with adversarial training is not supported (as in the reference)");
  }
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TrainConfig, grad_reg_lambda, num_unlabeled_per_labeled,
                                                unlabeled_noise_std, num_neighbor_per_anchor, neighbor_noise_std,
                                                adversarial, epsilon, adv_ratio, jacobian, inject_noise, optimizer, lr,
                                                weight_decay, momentum, linear_epoch, num_epochs, batch_size, seed,
                                                log_freq)

// Reads the keys present in j over c's current values; an unknown key is an argument_error
// (a typo in a config file must not be ignored silently).
inline void update_from_json(TrainConfig& c, const nlohmann::json& j) {
  if (!j.is_object()) throw argument_error("TrainConfig: JSON config must be an object");
  nlohmann::json merged = c;
  for (const auto& item : j.items())
    if (!merged.contains(item.key())) throw argument_error("TrainConfig: unknown key '" + item.key() + "'");
  merged.update(j);
  try {
    c = merged.get<TrainConfig>();
  } catch (const nlohmann::json::exception& e) {
    throw argument_error(std::string("TrainConfig: bad value in JSON config: ") + e.what());
  }
}

}  // namespace farbound
