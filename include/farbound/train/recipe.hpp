#pragma once
// How a TrainConfig (the recipe of the command line and the checkpoints) becomes the parts of
// a TrainingLoop: the optimiser, the learning-rate schedule, the adversarial examples and
// the objective terms. A researcher who wants other parts builds a TrainingLoop directly.
//   plain            CrossEntropyTerm
//   smoothness loss  CrossEntropySmoothnessTerm (the paper's loss, one fused pass)
//   jacobian         CrossEntropyTerm + JacobianTerm
//   fgsm, pgd        FgsmExamples / PgdExamples, CrossEntropyTerm(c, r)
//                    [+ SmoothnessTerm or JacobianTerm, on clean and adversarial anchors]
//   trades           TradesExamples, CrossEntropyTerm + TradesTerm [+ SmoothnessTerm ...]
#include <memory>
#include <vector>

#include "farbound/attack/bounds.hpp"
#include "farbound/attack/norm.hpp"
#include "farbound/attack/pgd.hpp"
#include "farbound/nn/layer.hpp"
#include "farbound/optim/adam.hpp"
#include "farbound/optim/schedule.hpp"
#include "farbound/optim/sgd.hpp"
#include "farbound/train/adversarial_examples.hpp"
#include "farbound/train/config.hpp"
#include "farbound/train/cross_entropy_term.hpp"
#include "farbound/train/jacobian_term.hpp"
#include "farbound/train/objective.hpp"
#include "farbound/train/smoothness_term.hpp"
#include "farbound/train/trades_examples.hpp"
#include "farbound/train/trades_term.hpp"

namespace farbound {

// The config's optimiser (adam, adamw or sgd) over params, with its lr, weight decay and momentum.
template <class T>
std::unique_ptr<Optimizer<T>> make_optimizer(const TrainConfig& c, std::vector<Parameter<T>*> params) {
  if (c.optimizer == "sgd")
    return std::make_unique<SGD<T>>(params, c.lr, SgdOptions{.momentum = c.momentum, .weight_decay = c.weight_decay});
  if (c.optimizer == "adamw") return std::make_unique<AdamW<T>>(params, c.lr, AdamOptions{.weight_decay = c.weight_decay});
  return std::make_unique<Adam<T>>(params, c.lr, AdamOptions{.weight_decay = c.weight_decay});
}

// LinearCosine over the reference's S = floor(anchors / B) steps per epoch (an epoch runs
// every anchor, so its last, shorter batch, if any, is one step more).
inline std::unique_ptr<LearningRateSchedule> make_schedule(const TrainConfig& c, std::int64_t labelled) {
  return std::make_unique<LinearCosineLR>(c.lr, c.linear_epoch, c.num_epochs,
                                          steps_per_epoch(labelled, c.num_unlabeled_per_labeled, c.batch_size));
}

// Null without adversarial training.
template <class T>
std::unique_ptr<AdversarialExamples<T>> make_adversarial_examples(const TrainConfig& c) {
  const Bounds box{c.input_min, c.input_max};
  if (c.adversarial == "fgsm") return std::make_unique<FgsmExamples<T>>(c.epsilon, Bounds::unbounded());
  if (c.adversarial == "pgd")
    return std::make_unique<PgdExamples<T>>(
        c.epsilon, PgdOptions{.norm = c.adv_norm == "l2" ? Norm::l2 : Norm::linf, .steps = c.adv_steps, .seed = c.seed, .bounds = box});
  if (c.adversarial == "trades") return std::make_unique<TradesExamples<T>>(c.epsilon, c.adv_steps, box, c.seed);
  return nullptr;
}

// The config's objective terms, as the table above lists them.
template <class T>
std::vector<std::unique_ptr<ObjectiveTerm<T>>> make_objective_terms(const TrainConfig& c) {
  std::vector<std::unique_ptr<ObjectiveTerm<T>>> terms;
  const bool regularised = c.grad_reg_lambda > 0;
  if (regularised && !c.jacobian && c.adversarial == "none") {
    terms.push_back(std::make_unique<CrossEntropySmoothnessTerm<T>>(c.grad_reg_lambda));
    return terms;
  }
  if (c.adversarial == "fgsm" || c.adversarial == "pgd")
    terms.push_back(std::make_unique<CrossEntropyTerm<T>>(c.clean_weight, c.adv_ratio));
  else
    terms.push_back(std::make_unique<CrossEntropyTerm<T>>());
  if (regularised && c.jacobian) terms.push_back(std::make_unique<JacobianTerm<T>>(c.grad_reg_lambda, c.neighbor_noise_std));
  if (regularised && !c.jacobian) terms.push_back(std::make_unique<SmoothnessTerm<T>>(c.grad_reg_lambda));
  if (c.adversarial == "trades") terms.push_back(std::make_unique<TradesTerm<T>>(c.trades_beta));
  return terms;
}

}  // namespace farbound
