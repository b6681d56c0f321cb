#pragma once
// MPI set up and torn down for the tools that run on MPI ranks (farbound-sweep, and
// farbound-train built with MPI), and the threads each rank computes with. Only the main
// thread calls MPI (MPI_THREAD_FUNNELED). Started without mpirun, MPI runs as one rank.
#include <mpi.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <thread>

#include "farbound/core/error.hpp"

namespace examples {

class MpiSession {
 public:
  MpiSession(int& argc, char**& argv) {
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    if (provided < MPI_THREAD_FUNNELED) {
      MPI_Finalize();
      throw farbound::io_error("MPI: the library does not provide MPI_THREAD_FUNNELED");
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &ranks_on_node_);
    MPI_Comm_free(&node);
  }
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  ~MpiSession() { MPI_Finalize(); }

  int rank() const { return rank_; }
  int size() const { return size_; }

  // --threads 0: the cores this rank may use. A rank bound to some cores (mpirun's
  // --map-by ...:PE=n, srun --cpus-per-task) uses those; an unbound rank shares the node's
  // cores with the other ranks on it, so that mpirun -np 2 on 2 cores does not oversubscribe.
  int default_threads() const {
    cpu_set_t mask;
    const int hardware = int(std::max(1u, std::thread::hardware_concurrency()));
    if (sched_getaffinity(0, sizeof mask, &mask) == 0 && CPU_COUNT(&mask) < hardware) return CPU_COUNT(&mask);
    return std::max(1, hardware / ranks_on_node_);
  }

  // A failure on one rank ends the job (the others would wait for it forever). The pause
  // lets mpirun forward the rank's error message before MPI_Abort kills the processes.
  [[noreturn]] void abort(int code) const {
    std::fflush(nullptr);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    MPI_Abort(MPI_COMM_WORLD, code);
    std::terminate();
  }

 private:
  int rank_ = 0, size_ = 1, ranks_on_node_ = 1;
};

}  // namespace examples
