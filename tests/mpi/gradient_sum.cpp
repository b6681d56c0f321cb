// mpirun -np N test_mpi_gradient_sum: MpiGradientSum on N ranks gives every rank the bits of
// the one-process fixed-order sum, for several shard counts (float and double), and
// all_shards gives every rank every shard's statistics in shard order. A plain main
// (exit 1 on failure) because Catch2's runner knows nothing of MPI ranks.
#include <mpi.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "farbound/distributed/mpi_gradient_sum.hpp"
#include "support/shard_gradients.hpp"

template <class T>
int check(std::int64_t shards, std::size_t n) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  if (shards < ranks) return 0;
  const auto all = farbound::test::shard_gradients<T>(shards, n, std::uint32_t(shards * 7 + n));
  std::vector<T> want(n), got(n);
  farbound::fixed_order_sum<T>(all, shards, want);

  farbound::MpiGradientSum<T> sum(MPI_COMM_WORLD, shards);
  const farbound::ShardRange own = sum.shards();
  sum(std::span<const T>(all).subspan(std::size_t(own.first) * n, std::size_t(own.last - own.first) * n), got);
  if (std::memcmp(want.data(), got.data(), n * sizeof(T)) != 0) {
    std::fprintf(stderr, "rank %d of %d: %lld shards x %zu %s: the sum differs from one process's\n", rank, ranks,
                 static_cast<long long>(shards), n, sizeof(T) == 4 ? "float" : "double");
    return 1;
  }
  std::vector<double> stats(std::size_t(own.last - own.first) * 2), every(std::size_t(shards) * 2);
  for (std::int64_t s = own.first; s < own.last; ++s) {
    stats[std::size_t(s - own.first) * 2] = double(s);
    stats[std::size_t(s - own.first) * 2 + 1] = double(-s);
  }
  sum.all_shards(stats, every);
  for (std::int64_t s = 0; s < shards; ++s)
    if (every[std::size_t(s) * 2] != double(s) || every[std::size_t(s) * 2 + 1] != double(-s)) {
      std::fprintf(stderr, "rank %d of %d: all_shards: shard %lld's values are wrong\n", rank, ranks, static_cast<long long>(s));
      return 1;
    }
  if (rank == 0 && shards == 8 && n == 61706)
    std::printf("%d ranks, 8 shards of %zu %s: rank 0 sent %lld bytes\n", ranks, n, sizeof(T) == 4 ? "float" : "double",
                static_cast<long long>(sum.bytes_sent()));
  return 0;
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int failures = 0;
  for (std::int64_t shards : {2, 3, 5, 8, 13}) {
    failures += check<float>(shards, 1000);
    failures += check<double>(shards, 257);
  }
  failures += check<float>(8, 61706);  // the size of LeNet-5's gradient
  int total = 0;
  MPI_Allreduce(&failures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  MPI_Finalize();
  return total == 0 ? 0 : 1;
}
