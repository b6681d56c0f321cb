#pragma once
// A model and copies of it that share a batch's rows, each part on a thread of its own.
//
// Every layer of a Sequential splits its work over the threads, and the next layer splits
// its own otherwise: the rows one thread wrote, the other reads. Where the two threads'
// cores have separate caches (a shared machine's vCPUs on two core complexes), those lines
// cross between the caches at every layer: LeNet's training step at batch 64 ran 14 100-
// 14 700 anchors/s on two threads against one thread's 12 000-13 000, and 22 200-23 400 with
// two replicas, each running half of the rows through every layer on its own thread (where
// the caches are shared, 22 200-23 400 without and 22 900-24 000 with; docs/performance.md,
// "Two model replicas").
//
// Replica 0 is the model itself: the one an optimiser steps. The copies have the same
// architecture; each forward first gives them the model's parameter values. A batch of n
// rows goes to R = min(replicas, n / min_rows) of them (at least one), rows
// [r n / R, (r + 1) n / R) through replica r; the backward leaves each
// replica's parameter gradient in its own parameters and then adds the copies' into the
// model's, in replica order. The split depends only on n and R, so the results are the same
// bits on any number of threads (one thread runs the replicas in turn); they differ from a
// forward and backward of the model alone by rounding, since the gradients' sums over the
// rows are grouped otherwise. Rows must be independent of each other through the model (no
// batch statistics, nothing random keyed by a row's place in the batch as Dropout's masks
// are: argument_error).
#include <algorithm>
#include <cstdint>
#include <exception>
#include <span>
#include <string>
#include <vector>

#include <omp.h>

#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/simd.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound {

// A model and copies of it that split every batch's rows between them (see above).
template <class T>
class Replicas {
 public:
  // model: replica 0; copies: models of the same layers, none of them the model itself
  // (argument_error otherwise: one object run as two replicas would have its workspaces
  // written by two threads), which these replicas use as workspaces from now on (the caller
  // keeps them alive).
  Replicas(Sequential<T>& model, std::span<Sequential<T>> copies) : models_{&model} {
    for (Sequential<T>& copy : copies) {
      if (&copy == &model)
        throw argument_error("Replicas: copy " + std::to_string(models_.size()) + " is the model itself");
      models_.push_back(&copy);
    }
    if (models_.size() > 1 && model.keys_random_numbers_by_place())
      throw argument_error("Replicas: the model has a layer that keys random numbers by a row's place in the batch "
                           "(Dropout): every replica would draw the first rows' numbers");
    for (Sequential<T>* m : models_) params_.push_back(m->parameters());
    const std::string layers = model.describe();
    for (std::size_t r = 1; r < models_.size(); ++r) {
      bool same = models_[r]->describe() == layers && params_[r].size() == params_[0].size();
      for (std::size_t i = 0; same && i < params_[0].size(); ++i)
        same = params_[r][i]->value.shape() == params_[0][i]->value.shape();
      if (!same)
        throw argument_error("Replicas: copy " + std::to_string(r) + " does not have the model's layers and parameters");
    }
  }

  // Rows per replica at the least: a batch of fewer than 2 * min_rows runs on the model
  // alone (LeNet at 4 or 8 rows is no faster cut in two, and a step of a few rows on one
  // thread: train/training_loop.hpp).
  static constexpr std::int64_t min_rows = 16;

  // Replicas, the model included.
  std::int64_t count() const { return std::int64_t(models_.size()); }

  // Training or evaluation mode, for every replica.
  void set_training(bool on) {
    for (Sequential<T>* m : models_) m->set_training(on);
  }

  // The model's output for every row of x (valid until the next forward), each replica's
  // part on its own thread where there are threads.
  TensorView<const T> forward(TensorView<const T> x) {
    const std::int64_t n = x.size(0);
    used_ = std::clamp<std::int64_t>(n / min_rows, 1, count());
    if (used_ == 1) return models_[0]->forward(x);
    out_.resize(models_[0]->output_shape(x.shape()));
    for_each_replica([&](std::size_t r) {
      if (r > 0)
        for (std::size_t i = 0; i < params_[0].size(); ++i)
          std::copy_n(params_[0][i]->value.data(), params_[0][i]->value.numel(), params_[r][i]->value.data());
      const auto [first, rows] = part(r, n);
      const TensorView<const T> y = models_[r]->forward(x.slice(first, rows));
      std::copy_n(y.data(), y.numel(), out_.data() + first * out_.shape().item_numel());
    });
    return out_.view();
  }

  // Back-propagates d(loss)/d(output of the last forward) into the model's parameter
  // gradients (added to what they hold, as Sequential::backward does).
  void backward(TensorView<const T> grad) {
    if (used_ == 1) {
      models_[0]->backward(grad);
      return;
    }
    const std::int64_t n = grad.size(0);
    for_each_replica([&](std::size_t r) {
      if (r > 0)
        for (Parameter<T>* p : params_[r]) p->grad.zero();
      const auto [first, rows] = part(r, n);
      models_[r]->backward(grad.slice(first, rows));
    });
    for (std::size_t r = 1; r < std::size_t(used_); ++r)
      for (std::size_t i = 0; i < params_[0].size(); ++i)
        simd::axpy(T(1), params_[r][i]->grad.data(), params_[0][i]->grad.data(), std::size_t(params_[0][i]->grad.numel()));
  }

 private:
  struct Part {
    std::int64_t first, rows;
  };
  Part part(std::size_t r, std::int64_t n) const {
    const std::int64_t R = used_, first = std::int64_t(r) * n / R;
    return {first, (std::int64_t(r) + 1) * n / R - first};
  }

  // f(r) for every replica the last forward used, on up to one thread each (a plain loop
  // with one thread or inside a parallel region; the layers' own loops run serially
  // within); the first exception is rethrown here.
  template <class F>
  void for_each_replica(F&& f) {
    const std::int64_t R = used_;
    errors_.assign(std::size_t(R), nullptr);
    const auto run = [&](std::int64_t r) {
      try {
        f(std::size_t(r));
      } catch (...) {
        errors_[std::size_t(r)] = std::current_exception();
      }
    };
    if (detail::runs_serially(R, 2)) {
      for (std::int64_t r = 0; r < R; ++r) run(r);
    } else {
#pragma omp parallel for schedule(static) num_threads(int(std::min<std::int64_t>(R, omp_get_max_threads())))
      for (std::int64_t r = 0; r < R; ++r) run(r);
    }
    for (const std::exception_ptr& e : errors_)
      if (e) std::rethrow_exception(e);
  }

  std::vector<Sequential<T>*> models_;
  std::vector<std::vector<Parameter<T>*>> params_;
  std::int64_t used_ = 1;  // replicas the last forward ran
  Tensor<T> out_;
  std::vector<std::exception_ptr> errors_;
};

}  // namespace farbound
