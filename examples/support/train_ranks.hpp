#pragma once
// farbound-train on MPI ranks. Built with MPI (FARBOUND_TRAIN_MPI) and started by
// `mpirun -np N`, every rank trains the same run on its shards of each batch (--shards S >= N;
// MpiGradientSum adds the S shards' gradients in one fixed order, so N ranks give the weights
// of one rank bitwise) and rank 0 alone prints, logs, checkpoints and saves. A failure on one
// rank ends the job, since the others would wait for it at the next sum forever. Built
// without MPI, or started without mpirun, it is one process, as before.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "farbound/core/error.hpp"
#include "farbound/distributed/gradient_sum.hpp"
#ifdef FARBOUND_TRAIN_MPI
#include "farbound/distributed/mpi_gradient_sum.hpp"
#include "support/mpi_session.hpp"
#endif

namespace examples {

class TrainRanks {
 public:
  TrainRanks([[maybe_unused]] int& argc, [[maybe_unused]] char**& argv)
#ifdef FARBOUND_TRAIN_MPI
      : mpi_(argc, argv)
#endif
  {
  }

#ifdef FARBOUND_TRAIN_MPI
  int rank() const { return mpi_.rank(); }
  int size() const { return mpi_.size(); }
  // --threads 0 on several ranks: the node's cores shared among its ranks.
  int default_threads() const { return size() > 1 ? mpi_.default_threads() : 0; }
  // The gradient sum over the ranks for S shards (null on one rank: all shards here).
  std::function<std::unique_ptr<farbound::GradientSum<float>>(std::int64_t)> gradient_sum() const {
    if (size() == 1) return {};
    const int ranks = size();
    return [ranks](std::int64_t shards) -> std::unique_ptr<farbound::GradientSum<float>> {
      if (shards < ranks)
        throw farbound::argument_error("--shards " + std::to_string(shards) + " is fewer than the " + std::to_string(ranks) +
                                       " MPI ranks (each rank needs a shard; the same --shards gives the same weights on 1 to S ranks)");
      return std::make_unique<farbound::MpiGradientSum<float>>(MPI_COMM_WORLD, shards);
    };
  }
  // The exit code, after ending every rank if this one failed.
  int finish(int code) const {
    if (code != 0 && size() > 1) mpi_.abort(code);
    return code;
  }

 private:
  MpiSession mpi_;
#else
  int rank() const { return 0; }
  int size() const { return 1; }
  int default_threads() const { return 0; }
  std::function<std::unique_ptr<farbound::GradientSum<float>>(std::int64_t)> gradient_sum() const { return {}; }
  int finish(int code) const { return code; }
#endif
};

}  // namespace examples
