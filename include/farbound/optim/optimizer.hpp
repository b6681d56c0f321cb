#pragma once
// Optimizer<T>: what every optimiser shares.
//
// - It updates a fixed list of Parameters (value and grad) in place, from their gradients,
//   with the current learning rate; the subclass supplies only the element-wise rule.
// - It owns the per-parameter state tensors ("slots": Adam's moments, SGD's momentum
//   buffer), allocated once at construction, and the step count.
// - The work is cut into fixed chunks of `chunk_elements` elements of one parameter and
//   the chunks run in parallel. Every element's update is independent of every other, so
//   the result is bitwise the same on any thread count; a step allocates nothing.
// - state() / load_state() read and write everything needed to resume exactly: the step
//   count and the slots, named "<parameter index>.<slot>" (PyTorch's state keys, e.g.
//   "0.exp_avg"), so a checkpoint writer can store them as named tensors.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/shape.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/layer.hpp"
#include "farbound/optim/schedule.hpp"

namespace farbound {

// One named state tensor of an optimiser.
template <class T>
struct NamedTensor {
  // The state tensor's name ("<parameter index>.<slot>").
  std::string name;
  // Its values.
  Tensor<T> tensor;
};

// Everything an optimiser needs to continue where it stopped (hyperparameters excluded:
// they are configuration, and the learning rate comes from the schedule and the step count).
template <class T>
struct OptimizerState {
  // Steps taken.
  std::int64_t steps = 0;
  // The per-parameter state tensors.
  std::vector<NamedTensor<T>> tensors;
};

// The interface of an optimiser: a step over the parameters' gradients, the learning rate, its state.
template <class T>
class Optimizer {
 public:
  // Elements per unit of parallel work. A multiple of every SIMD width, so only the last
  // chunk of a parameter has a scalar tail; small enough that the static split of LeNet's
  // chunks (one 48 000-weight layer among small ones) gives two threads similar shares.
  static constexpr std::int64_t chunk_elements = 4096;
  // Most state tensors per parameter an optimiser may keep.
  static constexpr std::size_t max_slots = 2;

  // An optimiser of `params` (not empty) at learning rate `lr`; `kind` names it in messages.
  Optimizer(std::vector<Parameter<T>*> params, double lr, const char* kind) : params_(std::move(params)), kind_(kind) {
    if (params_.empty()) throw argument_error(std::string(kind_) + ": empty parameter list");
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const Parameter<T>* p = params_[i];
      if (p == nullptr) throw argument_error(std::string(kind_) + ": parameter " + std::to_string(i) + " is null");
      require_same_shape(p->value.shape(), p->grad.shape(), (where(i) + ": value and grad").c_str());
      if (std::count(params_.begin(), params_.end(), p) > 1) throw argument_error(where(i) + " appears more than once");
      shapes_.push_back(p->value.shape());
      for (std::int64_t b = 0; b < p->value.numel(); b += chunk_elements)
        chunks_.push_back({i, b, std::min(p->value.numel(), b + chunk_elements)});
    }
    set_lr(lr);
  }
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // What the optimiser is, with its hyperparameters.
  virtual std::string describe() const = 0;

  // The current learning rate.
  double lr() const { return lr_; }
  // Sets the learning rate (finite, >= 0); schedules call it every step.
  void set_lr(double lr) {
    if (!std::isfinite(lr) || lr < 0) {
      std::ostringstream s;
      s << kind_ << ": learning rate must be finite and >= 0 (got " << lr << ")";
      throw argument_error(s.str());
    }
    lr_ = lr;
  }

  // Number of steps taken so far (the first step is step 1 in the bias corrections).
  std::int64_t steps() const { return steps_; }
  // The parameters it updates.
  const std::vector<Parameter<T>*>& parameters() const { return params_; }

  // One update of every parameter from its gradient, with the current learning rate.
  void step() {
    require_shapes_unchanged();
    const std::int64_t t = steps_ + 1;
    parallel_for(static_cast<std::int64_t>(chunks_.size()), [&](std::int64_t c) {
      const Chunk& ch = chunks_[static_cast<std::size_t>(c)];
      Parameter<T>& p = *params_[ch.param];
      std::array<T*, max_slots> state{};
      for (std::size_t k = 0; k < slots_.size(); ++k) state[k] = slots_[k].tensors[ch.param].data() + ch.begin;
      update(p.value.data() + ch.begin, p.grad.data() + ch.begin, state, static_cast<std::size_t>(ch.end - ch.begin), t);
    });
    steps_ = t;
  }
  // Sets the learning rate to schedule.lr(steps()) and takes the step: step t (counted
  // from 0) uses lr(t).
  void step(const LearningRateSchedule& schedule) {
    set_lr(schedule.lr(steps_));
    step();
  }

  // Sets every gradient to zero (layers accumulate into them).
  void zero_grad() {
    require_shapes_unchanged();
    parallel_for(static_cast<std::int64_t>(chunks_.size()), [&](std::int64_t c) {
      const Chunk& ch = chunks_[static_cast<std::size_t>(c)];
      std::fill(params_[ch.param]->grad.data() + ch.begin, params_[ch.param]->grad.data() + ch.end, T(0));
    });
  }

  // A deep copy of the step count and every state tensor.
  OptimizerState<T> state() const {
    OptimizerState<T> s;
    s.steps = steps_;
    for (const Slot& slot : slots_)
      for (std::size_t i = 0; i < params_.size(); ++i) s.tensors.push_back({state_name(i, slot.name), slot.tensors[i].clone()});
    return s;
  }
  // Restores a state from state() of an optimiser of the same kind over parameters of the
  // same shapes. Checks everything before changing anything: on error the optimiser is as
  // it was.
  void load_state(const OptimizerState<T>& s) {
    if (s.steps < 0) throw argument_error(std::string(kind_) + ": negative step count " + std::to_string(s.steps) + " in the state");
    std::vector<const Tensor<T>*> source;
    for (const Slot& slot : slots_)
      for (std::size_t i = 0; i < params_.size(); ++i) {
        const std::string name = state_name(i, slot.name);
        auto it = std::find_if(s.tensors.begin(), s.tensors.end(), [&](const NamedTensor<T>& nt) { return nt.name == name; });
        if (it == s.tensors.end()) throw argument_error(std::string(kind_) + ": state tensor '" + name + "' is missing");
        require_same_shape(it->tensor.shape(), shapes_[i], (std::string(kind_) + ": state tensor '" + name + "' and its parameter").c_str());
        source.push_back(&it->tensor);
      }
    if (s.tensors.size() != source.size())
      throw argument_error(std::string(kind_) + ": the state holds " + std::to_string(s.tensors.size()) + " tensors, expected " +
                           std::to_string(source.size()) + " (a state from another optimiser?)");
    std::size_t k = 0;
    for (Slot& slot : slots_)
      for (Tensor<T>& dst : slot.tensors) {
        if (dst.numel() > 0) std::memcpy(dst.data(), source[k]->data(), static_cast<std::size_t>(dst.numel()) * sizeof(T));
        ++k;
      }
    steps_ = s.steps;
  }

 protected:
  // Adds a state tensor per parameter, zero-initialised, named `name` in state().
  void add_slot(std::string name) {
    if (slots_.size() == max_slots) throw argument_error(std::string(kind_) + ": more than max_slots state tensors per parameter");
    Slot slot{std::move(name), {}};
    for (const Shape& s : shapes_) slot.tensors.emplace_back(s, T(0));
    slots_.push_back(std::move(slot));
  }

  // Updates n elements of one parameter in place: value[i] from grad[i] and the slots'
  // state[k][i] (state[k] for k < number of slots added). `step` is the number of this
  // step, counted from 1. Called concurrently for disjoint chunks.
  virtual void update(T* value, const T* grad, const std::array<T*, max_slots>& state, std::size_t n, std::int64_t step) = 0;

  // Its name, e.g. "Adam".
  const char* kind() const { return kind_; }

 private:
  // The chunks were cut from the shapes at construction.
  void require_shapes_unchanged() const {
    for (std::size_t i = 0; i < params_.size(); ++i)
      if (!(params_[i]->value.shape() == shapes_[i] && params_[i]->grad.shape() == shapes_[i]))
        throw shape_error(where(i) + " changed shape: " + shapes_[i].to_string() + " at construction, now value " +
                          params_[i]->value.shape().to_string() + " and grad " + params_[i]->grad.shape().to_string());
  }
  struct Chunk {
    std::size_t param;
    std::int64_t begin, end;
  };
  struct Slot {
    std::string name;
    std::vector<Tensor<T>> tensors;  // one per parameter
  };
  // "Adam: parameter 3 'weight'", for messages.
  std::string where(std::size_t i) const { return std::string(kind_) + ": parameter " + std::to_string(i) + " '" + params_[i]->name + "'"; }
  static std::string state_name(std::size_t param, const std::string& slot) { return std::to_string(param) + "." + slot; }

  std::vector<Parameter<T>*> params_;
  std::vector<Shape> shapes_;
  std::vector<Chunk> chunks_;
  std::vector<Slot> slots_;
  const char* kind_;
  double lr_ = 0;
  std::int64_t steps_ = 0;
};

}  // namespace farbound
