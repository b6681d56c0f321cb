#pragma once
// Parallel loops on OpenMP with deterministic chunking.
//
// parallel_for splits [0, n) into contiguous chunks in a fixed way (static schedule), and
// every item is computed independently; reductions are left to the caller, who combines
// per-item or per-chunk results in a fixed order. Results therefore never depend on the
// thread count. parallel_for_balanced hands the items out one at a time instead (for a few
// dozen heavy ones); the same rule makes its results independent of who ran what.
#include <algorithm>
#include <cstdint>

#include <omp.h>

namespace farbound {

// The number of OpenMP threads parallel_for uses.
inline int max_threads() { return omp_get_max_threads(); }
// Sets the number of OpenMP threads (at least 1); results do not depend on it.
inline void set_threads(int n) { omp_set_num_threads(std::max(1, n)); }

namespace detail {
// Whether a loop of n items runs on the calling thread, in order: fewer than min_parallel
// items, already inside a parallel region, or one thread.
inline bool runs_serially(std::int64_t n, std::int64_t min_parallel) {
  return n < std::max<std::int64_t>(1, min_parallel) || omp_in_parallel() || omp_get_max_threads() == 1;
}
}  // namespace detail

// Calls f(i) for every i in [0, n), in parallel when n >= min_parallel and we are not
// already inside a parallel region.
template <class F>
void parallel_for(std::int64_t n, F&& f, std::int64_t min_parallel = 2) {
  if (detail::runs_serially(n, min_parallel)) {
    for (std::int64_t i = 0; i < n; ++i) f(i);
    return;
  }
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < n; ++i) f(i);
}

// parallel_for for a few dozen heavy items (tens of microseconds each, such as a
// convolution's images): handed out one at a time, so a thread whose core runs slower at
// the moment (a shared machine's vCPU) takes fewer of them. Which thread runs an item must
// not matter to the result, as for parallel_for.
template <class F>
void parallel_for_balanced(std::int64_t n, F&& f) {
  if (detail::runs_serially(n, 2)) {
    for (std::int64_t i = 0; i < n; ++i) f(i);
    return;
  }
#pragma omp parallel for schedule(dynamic, 1)
  for (std::int64_t i = 0; i < n; ++i) f(i);
}

// While it lives (when made with serial = true), the calling thread's parallel loops run on
// that thread alone; the thread count comes back when it goes. For steps too small to
// share: on a shared machine's vCPUs a second thread waiting for work can slow the first
// threefold (docs/performance.md, "Small training steps on one thread"). Results do not
// change: they never depend on the thread count.
class SerialScope {
 public:
  // One thread from here on if serial; otherwise nothing changes.
  explicit SerialScope(bool serial) : saved_threads_(serial ? omp_get_max_threads() : 0) {
    if (serial) omp_set_num_threads(1);
  }
  // The thread count as it was.
  ~SerialScope() {
    if (saved_threads_ > 0) omp_set_num_threads(saved_threads_);
  }
  SerialScope(const SerialScope&) = delete;
  SerialScope& operator=(const SerialScope&) = delete;

 private:
  int saved_threads_;  // 0: nothing to restore
};

// Number of fixed-size chunks of `chunk` items covering n items.
inline std::int64_t chunk_count(std::int64_t n, std::int64_t chunk) { return (n + chunk - 1) / chunk; }

// Calls f(begin, end) over fixed chunks of [0, n); chunk boundaries depend only on n and
// chunk, never on the thread count, so per-chunk partial sums reduce deterministically.
template <class F>
void parallel_chunks(std::int64_t n, std::int64_t chunk, F&& f) {
  parallel_for(chunk_count(n, chunk), [&](std::int64_t c) { f(c * chunk, std::min(n, (c + 1) * chunk)); });
}

// parallel_chunks with the chunks handed out one at a time (parallel_for_balanced).
template <class F>
void parallel_chunks_balanced(std::int64_t n, std::int64_t chunk, F&& f) {
  parallel_for_balanced(chunk_count(n, chunk), [&](std::int64_t c) { f(c * chunk, std::min(n, (c + 1) * chunk)); });
}

}  // namespace farbound
