#pragma once
// The fixed-order sum (distributed/fixed_order_sum.hpp) across MPI ranks: every rank passes
// the gradients of its shards of the global batch and receives, on every rank, the sum over
// all shards in the tree's order, bitwise the same for any number of ranks (1 included).
//
// One call: each rank reduces its own shards to the values of its whole subtrees (usually one
// or two vectors), rank 0 gathers them (MPI_Gatherv, in rank order), completes the tree and
// broadcasts the sum (MPI_Bcast). Only gradients travel: per step a rank sends
// cover_size x n values and receives n. Needs MPI (link MPI::MPI_CXX); the rest of farbound
// does not. Every rank must make the same calls: an exception on one rank (a diverged loss,
// a failed write) must end the job (MPI_Abort), or the others wait for it forever.
#include <mpi.h>

#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/distributed/fixed_order_sum.hpp"
#include "farbound/distributed/gradient_sum.hpp"

namespace farbound {

// The sum over every rank's shards of the gradients, the same bits on any number of ranks;
// one object per communicator and run, called once per step.
template <class T>
class MpiGradientSum final : public GradientSum<T> {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "MpiGradientSum: float or double");

 public:
  // `shards`: S, fixed for the run (it defines the order); every rank of `comm` must pass the
  // same S, which must be at least the number of ranks.
  MpiGradientSum(MPI_Comm comm, std::int64_t shards) : comm_(comm), shards_(shards) {
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &ranks_);
    range_ = shards_of_rank(rank_, ranks_, shards_);
    for (int r = 0; r < ranks_; ++r) nodes_.push_back(int(dyadic_cover(shards_of_rank(r, ranks_, shards_), shards_).size()));
  }

  // S.
  std::int64_t shard_count() const override { return shards_; }
  // The shards this rank computes the gradients of.
  ShardRange shards() const override { return range_; }

  // own_shards: the gradients of shards().first .. shards().last - 1, n values each, one after
  // another; out (n values): the sum over all S shards, on every rank.
  void operator()(std::span<const T> own_shards, std::span<T> out) override {
    const std::size_t n = out.size();
    const std::vector<T> mine = cover_values<T>(range_, shards_, own_shards, n);
    if (rank_ == 0) {
      counts_.resize(std::size_t(ranks_));
      offsets_.resize(std::size_t(ranks_));
      int at = 0;
      for (int r = 0; r < ranks_; ++r) {
        counts_[std::size_t(r)] = nodes_[std::size_t(r)] * int(n);
        offsets_[std::size_t(r)] = at;
        at += counts_[std::size_t(r)];
      }
      gathered_.resize(std::size_t(at));
    }
    check(MPI_Gatherv(mine.data(), int(mine.size()), type(), gathered_.data(), counts_.data(), offsets_.data(), type(), 0,
                      comm_),
          "MPI_Gatherv");
    if (rank_ == 0) combine_cover<T>(gathered_, ranks_, shards_, out);
    check(MPI_Bcast(out.data(), int(n), type(), 0, comm_), "MPI_Bcast");
    bytes_sent_ = std::int64_t((rank_ == 0 ? std::size_t(ranks_ - 1) * n : mine.size()) * sizeof(T));
  }

  // all (S * m values): every shard's m values, on every rank (MPI_Allgatherv in rank order,
  // which is shard order).
  void all_shards(std::span<const double> own_shards, std::span<double> all) override {
    const std::size_t m = all.size() / std::size_t(shards_);
    if (all.size() != m * std::size_t(shards_) || own_shards.size() != m * std::size_t(range_.last - range_.first))
      throw argument_error("MpiGradientSum::all_shards: sizes are not shards x values");
    std::vector<int> counts(static_cast<std::size_t>(ranks_)), offsets(static_cast<std::size_t>(ranks_));
    for (int r = 0; r < ranks_; ++r) {
      const ShardRange theirs = shards_of_rank(r, ranks_, shards_);
      counts[std::size_t(r)] = int(std::size_t(theirs.last - theirs.first) * m);
      offsets[std::size_t(r)] = int(std::size_t(theirs.first) * m);
    }
    check(MPI_Allgatherv(own_shards.data(), int(own_shards.size()), MPI_DOUBLE, all.data(), counts.data(), offsets.data(),
                         MPI_DOUBLE, comm_),
          "MPI_Allgatherv");
  }

  // What this rank sent to other ranks in the last call: its subtree values, or for rank 0
  // the broadcast sum (ranks - 1 copies of n values at most; MPI may send fewer through a tree).
  std::int64_t bytes_sent() const { return bytes_sent_; }

 private:
  static MPI_Datatype type() { return std::is_same_v<T, float> ? MPI_FLOAT : MPI_DOUBLE; }
  static void check(int code, const char* call) {
    if (code != MPI_SUCCESS) throw io_error(std::string("MpiGradientSum: ") + call + " failed with code " + std::to_string(code));
  }

  MPI_Comm comm_;
  std::int64_t shards_;
  int rank_ = 0, ranks_ = 1;
  ShardRange range_;
  std::vector<int> nodes_, counts_, offsets_;  // cover sizes of every rank; gather layout (rank 0)
  std::vector<T> gathered_;
  std::int64_t bytes_sent_ = 0;
};

}  // namespace farbound
