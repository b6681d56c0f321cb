#pragma once
// Which per-thread workspace a parallel_for body may use.
//
// A layer keeps one workspace slot per thread that can run its parallel_for body. Create a
// ThreadSlots right before the parallel_for: count() is the number of slots to allocate,
// index() inside the body is the calling thread's slot. parallel_for runs serially inside an
// enclosing parallel region (and then every call uses slot 0), so the region's nesting level
// tells whether the body runs in a team that parallel_for started.
#include <omp.h>

namespace farbound::detail {

class ThreadSlots {
 public:
  ThreadSlots() : level_(omp_get_level()), count_(omp_in_parallel() ? 1 : omp_get_max_threads()) {}

  int count() const { return count_; }
  int index() const { return omp_get_level() > level_ ? omp_get_thread_num() : 0; }

 private:
  int level_;
  int count_;
};

}  // namespace farbound::detail
