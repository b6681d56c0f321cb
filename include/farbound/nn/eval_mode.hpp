#pragma once
// EvalMode: puts a model in evaluation mode for a scope and gives it back in the mode the
// caller had (also when an exception leaves the scope). Attacks and metrics evaluate the
// model as it is deployed (no dropout), and a training loop that calls an attack in the
// middle of an epoch keeps training afterwards; the reference code's FGSM left its model
// in eval mode for the rest of the epoch.
#include "farbound/nn/sequential.hpp"

namespace farbound {

// Puts a model into eval mode for its lifetime and restores the mode it had, also on an exception.
template <class T>
class EvalMode {
 public:
  // Switches `model` to eval mode until this object is destroyed.
  explicit EvalMode(Sequential<T>& model) : model_(model), was_training_(model.training()) {
    model_.set_training(false);
  }
  ~EvalMode() { model_.set_training(was_training_); }
  EvalMode(const EvalMode&) = delete;
  EvalMode& operator=(const EvalMode&) = delete;

 private:
  Sequential<T>& model_;
  bool was_training_;
};

}  // namespace farbound
