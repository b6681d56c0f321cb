#pragma once
// The runs of farbound-sweep handed to its MPI ranks (support/mpi_session.hpp) as they
// become free (dynamic assignment: runs differ in length by 10x, so a fixed split would
// leave ranks idle).
//
// Rank 0 hands out the runs: its main thread answers the other ranks' requests (a worker
// sends "free", rank 0 answers with the index of the next run, or -1 when none is left),
// while a second thread of rank 0 works through runs too, taking them from the same counter.
// The answering thread polls with a short sleep instead of a blocking receive, whose busy
// wait would take a core from the training threads. Only rank 0's main thread calls MPI
// (MPI_THREAD_FUNNELED). Started without mpirun, MPI runs as one rank and the sweep runs
// serially in one process.
#include <mpi.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <thread>
#include <vector>

#include "farbound/core/parallel.hpp"
#include "support/mpi_session.hpp"

namespace examples {

// Calls work(runs[i]) for every i, each on exactly one rank, with `threads` OpenMP threads.
inline void for_each_run(const MpiSession& mpi, const std::vector<int>& runs, int threads,
                         const std::function<void(int)>& work) {
  constexpr int tag_free = 1, tag_run = 2;
  if (mpi.rank() != 0) {
    farbound::set_threads(threads);
    for (;;) {
      int next = -1;
      MPI_Send(&next, 0, MPI_INT, 0, tag_free, MPI_COMM_WORLD);
      MPI_Recv(&next, 1, MPI_INT, 0, tag_run, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      if (next < 0) return;
      work(next);
    }
  }
  std::atomic<std::size_t> taken{0};
  const auto take = [&]() { const std::size_t i = taken++; return i < runs.size() ? runs[i] : -1; };
  std::exception_ptr failure;
  std::thread local([&] {
    farbound::set_threads(threads);  // OpenMP settings are per thread
    try {
      for (int i = take(); i >= 0; i = take()) work(i);
    } catch (...) {
      failure = std::current_exception();
    }
  });
  for (int working = mpi.size() - 1; working > 0;) {
    int pending = 0;
    MPI_Status status;
    MPI_Iprobe(MPI_ANY_SOURCE, tag_free, MPI_COMM_WORLD, &pending, &status);
    if (!pending) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    MPI_Recv(nullptr, 0, MPI_INT, status.MPI_SOURCE, tag_free, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    const int next = take();
    MPI_Send(&next, 1, MPI_INT, status.MPI_SOURCE, tag_run, MPI_COMM_WORLD);
    working -= next < 0;
  }
  local.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace examples
