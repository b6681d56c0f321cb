#include "farbound/core/parallel.hpp"

#include <catch2/catch.hpp>

#include <vector>

using namespace farbound;

TEST_CASE("parallel_for visits every index once", "[parallel]") {
  for (int threads : {1, 2}) {
    set_threads(threads);
    std::vector<int> hits(1001, 0);
    parallel_for(1001, [&](std::int64_t i) { hits[std::size_t(i)] += 1; });
    for (int h : hits) REQUIRE(h == 1);
  }
}

TEST_CASE("parallel_chunks boundaries depend only on n and the chunk size", "[parallel]") {
  std::vector<std::pair<std::int64_t, std::int64_t>> seen[2];
  for (int threads : {1, 2}) {
    set_threads(threads);
    std::vector<std::pair<std::int64_t, std::int64_t>> chunks(std::size_t(chunk_count(103, 10)));
    parallel_chunks(103, 10, [&](std::int64_t b, std::int64_t e) { chunks[std::size_t(b / 10)] = {b, e}; });
    seen[threads - 1] = chunks;
  }
  CHECK(seen[0] == seen[1]);
  CHECK(seen[0].back() == std::make_pair<std::int64_t, std::int64_t>(100, 103));
}

TEST_CASE("SerialScope runs the loops of its lifetime on the calling thread and restores the thread count", "[parallel]") {
  set_threads(2);
  const auto team_sizes = [] {
    std::vector<int> sizes(64, 0);
    parallel_for(64, [&](std::int64_t i) { sizes[std::size_t(i)] = omp_get_num_threads(); });
    return sizes;
  };
  {
    const SerialScope scope(true);
    CHECK(max_threads() == 1);
    for (int size : team_sizes()) CHECK(size == 1);
  }
  CHECK(max_threads() == 2);
  {
    const SerialScope scope(false);
    CHECK(max_threads() == 2);
  }
  CHECK(max_threads() == 2);
}
