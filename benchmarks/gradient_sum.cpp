// mpirun -np N gradient_sum [shards] [calls]: the cost per training step of the fixed-order
// gradient sum of data-parallel training (distributed/mpi_gradient_sum.hpp) for a LeNet-5
// gradient (61 706 floats): each rank passes its shards' gradients, every rank gets the sum.
// Prints rank 0's median wall time per call and the bytes each rank sends per call.
#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "farbound/distributed/mpi_gradient_sum.hpp"
#include "support/driver.hpp"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  const std::int64_t shards = argc > 1 ? std::atoll(argv[1]) : 8;
  const int calls = argc > 2 ? std::atoi(argv[2]) : 200;
  const std::size_t n = 61706;

  farbound::MpiGradientSum<float> sum(MPI_COMM_WORLD, shards);
  const farbound::ShardRange own = sum.shards();
  std::vector<float> grads(std::size_t(own.last - own.first) * n, 1e-3f), out(n);
  std::vector<double> seconds;
  std::int64_t sent = 0, most_sent = 0;
  for (int c = 0; c < calls; ++c) {
    MPI_Barrier(MPI_COMM_WORLD);
    const auto t0 = farbound::bench::Instant::now();
    sum(grads, out);
    seconds.push_back(farbound::bench::since(t0).wall);
    sent = sum.bytes_sent();
  }
  MPI_Reduce(&sent, &most_sent, 1, MPI_INT64_T, MPI_MAX, 0, MPI_COMM_WORLD);
  if (rank == 0)
    std::printf("%d ranks, %lld shards of %zu floats: %.3f ms per call (median of %d), rank 0 sends %lld bytes, "
                "the most any rank sends %lld bytes\n",
                ranks, static_cast<long long>(shards), n, 1e3 * farbound::bench::median(seconds), calls,
                static_cast<long long>(sent), static_cast<long long>(most_sent));
  MPI_Finalize();
  return 0;
}
