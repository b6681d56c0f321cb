// LocalGradientSum: all S shards in one process, summed in the tree's order; all_shards
// hands back every shard's statistics as they are.
#include "farbound/distributed/gradient_sum.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "support/shard_gradients.hpp"

using namespace farbound;

TEST_CASE("LocalGradientSum holds every shard and sums them as fixed_order_sum", "[distributed]") {
  const std::int64_t shards = 5;
  const std::size_t n = 100;
  const auto all = test::shard_gradients<float>(shards, n, 3);
  std::vector<float> want(n), got(n);
  fixed_order_sum<float>(all, shards, want);
  LocalGradientSum<float> sum(shards);
  CHECK(sum.shard_count() == shards);
  CHECK(sum.shards().first == 0);
  CHECK(sum.shards().last == shards);
  sum(all, got);
  CHECK(std::memcmp(want.data(), got.data(), n * sizeof(float)) == 0);

  const std::vector<double> stats{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};  // 2 values per shard
  std::vector<double> gathered(stats.size());
  sum.all_shards(stats, gathered);
  CHECK(gathered == stats);
  std::vector<double> too_few(4);
  REQUIRE_THROWS_AS(sum.all_shards(stats, too_few), argument_error);
  REQUIRE_THROWS_AS(LocalGradientSum<float>(0), argument_error);
}
