#pragma once
// GradientSum<T>: how the S shards of a training step's global batch become one gradient.
// A data-parallel step cuts its batch into S shards fixed by the run, computes the parameter
// gradient of each shard on its own, and sums the S gradients in one fixed order (the binary
// tree of fixed_order_sum.hpp), so that the sum has the same bits however many processes the
// shards are spread over. A GradientSum says which shards this process computes and returns
// the sum; train/'s TrainingLoop takes one as a part:
//   LocalGradientSum  every shard in this process (S = 1 is the plain single-batch step)
//   MpiGradientSum    (mpi_gradient_sum.hpp, needs MPI) the shards spread over MPI ranks
// Besides the gradient, all_shards hands every process the per-shard values of a few
// statistics (the epoch's losses and accuracy, once per epoch), so that every process logs
// the numbers one process would.
#include <algorithm>
#include <cstdint>
#include <span>
#include <string>

#include "farbound/core/error.hpp"
#include "farbound/distributed/fixed_order_sum.hpp"

namespace farbound {

// The shards of a global batch and their fixed-order sum (see above).
template <class T>
class GradientSum {
 public:
  virtual ~GradientSum() = default;
  // S: the shards every global batch is cut into (the order of the sum depends on S only).
  virtual std::int64_t shard_count() const = 0;
  // The shards this process computes.
  virtual ShardRange shards() const = 0;
  // out (n values) = the sum over all S shards in the tree's order, on every process, from
  // own_shards: this process's shards' n values each, one shard after another.
  virtual void operator()(std::span<const T> own_shards, std::span<T> out) = 0;
  // all (S * m values) = every shard's m values in shard order, on every process, from this
  // process's shards' m values each (own_shards).
  virtual void all_shards(std::span<const double> own_shards, std::span<double> all) = 0;
};

// Every shard in this process: S shards summed by fixed_order_sum.
template <class T>
class LocalGradientSum final : public GradientSum<T> {
 public:
  // S >= 1 shards.
  explicit LocalGradientSum(std::int64_t shards = 1) : shards_(shards) {
    if (shards < 1) throw argument_error("LocalGradientSum: shards must be >= 1, got " + std::to_string(shards));
  }
  std::int64_t shard_count() const override { return shards_; }
  ShardRange shards() const override { return {0, shards_}; }
  void operator()(std::span<const T> own_shards, std::span<T> out) override {
    fixed_order_sum<T>(own_shards, shards_, out);
  }
  void all_shards(std::span<const double> own_shards, std::span<double> all) override {
    if (own_shards.size() != all.size()) throw argument_error("LocalGradientSum::all_shards: sizes differ");
    std::copy(own_shards.begin(), own_shards.end(), all.begin());
  }

 private:
  std::int64_t shards_;
};

}  // namespace farbound
