// core_round_trip [first CPU] [second CPU]: how long one cache line takes to go from one core
// to another and back, two threads pinned to two CPUs of this process's set (by default its
// first two) passing a counter to and fro. Prints the median of 9 batches of 20 000 round
// trips, in ns.
//
// Why: on a shared machine the two vCPUs of a 2-core guest sometimes sit on one core complex
// (here about 50 ns) and sometimes on two (about 330 ns), and every OpenMP barrier and every
// line written by one thread and read by the other costs that much more; LeNet's training
// step at batch 1, a few hundred microseconds of many small parallel loops, then runs about
// 3x slower on 2 threads (docs/performance.md). compare_with_pytorch.sh prints this next to
// each farbound round.
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <thread>
#include <vector>

namespace {

bool pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  sched_getaffinity(0, sizeof allowed, &allowed);
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &allowed)) cpus.push_back(c);
  if (argc > 1 && (std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h")) {
    std::printf("usage: %s [first CPU] [second CPU]: the median round trip of a cache line between them, in ns\n", argv[0]);
    return 0;
  }
  // A CPU number from argv[i], or the i-th CPU of the set; -1 when argv[i] is not a number.
  const auto cpu_argument = [&](int i) -> int {
    if (argc <= i) return cpus.size() >= std::size_t(i) ? cpus[std::size_t(i - 1)] : -1;
    char* end = nullptr;
    const long c = std::strtol(argv[i], &end, 10);
    return end != argv[i] && *end == '\0' && c >= 0 && c < CPU_SETSIZE ? int(c) : -1;
  };
  const int first = cpu_argument(1), second = cpu_argument(2);
  if (argc > 3 || first < 0 || second < 0) {
    std::fprintf(stderr, "usage: %s [first CPU] [second CPU] (this process may run on %zu CPU(s))\n", argv[0], cpus.size());
    return 2;
  }
  if (first == second || !CPU_ISSET(first, &allowed) || !CPU_ISSET(second, &allowed)) {
    std::fprintf(stderr, "core_round_trip: CPUs %d and %d must be two different CPUs this process may run on\n", first, second);
    return 2;
  }

  // Both threads are pinned before the first trip: on one CPU every turn would wait for the
  // scheduler to switch threads.
  constexpr int batches = 9, trips = 20000;
  constexpr long stop = -1;
  alignas(64) std::atomic<long> ball{0};  // odd: the partner's turn
  std::atomic<int> partner_pinned{0};     // 1 pinned, -1 could not pin
  std::thread partner([&] {
    partner_pinned = pin_to(second) ? 1 : -1;
    for (long turn = 1; turn < 2L * batches * trips; turn += 2) {
      long now;
      while ((now = ball.load(std::memory_order_acquire)) != turn)
        if (now == stop) return;
      ball.store(turn + 1, std::memory_order_release);
    }
  });
  while (partner_pinned == 0) std::this_thread::yield();
  if (partner_pinned < 0 || !pin_to(first)) {
    ball = stop;
    partner.join();
    std::fprintf(stderr, "core_round_trip: cannot pin threads to CPUs %d and %d\n", first, second);
    return 1;
  }
  std::vector<double> ns;
  long turn = 0;
  for (int b = 0; b < batches; ++b) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int t = 0; t < trips; ++t, turn += 2) {
      ball.store(turn + 1, std::memory_order_release);
      while (ball.load(std::memory_order_acquire) != turn + 2) {
      }
    }
    ns.push_back(std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / trips);
  }
  partner.join();
  std::nth_element(ns.begin(), ns.begin() + batches / 2, ns.end());
  std::printf("core round trip CPU %d <-> %d: %.0f ns\n", first, second, ns[batches / 2]);
}
