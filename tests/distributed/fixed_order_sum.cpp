#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <vector>

#include "farbound/distributed/fixed_order_sum.hpp"
#include "support/shard_gradients.hpp"

using namespace farbound;

TEST_CASE("dyadic_cover: whole subtrees that partition a rank's shards, left to right", "[distributed]") {
  for (std::int64_t shards = 1; shards <= 20; ++shards)
    for (int ranks = 1; ranks <= shards; ++ranks) {
      std::int64_t next = 0;
      for (int r = 0; r < ranks; ++r) {
        const ShardRange range = shards_of_rank(r, ranks, shards);
        for (const TreeNode& node : dyadic_cover(range, shards)) {
          REQUIRE(node.first() == next);
          REQUIRE(node.first() % (std::int64_t(1) << node.level) == 0);  // a node of the tree
          next = node.last(shards);
        }
        REQUIRE(next == range.last);
      }
      REQUIRE(next == shards);
    }
  // 8 shards on one rank: the root; on 3 ranks ([0,2), [2,5), [5,8)): 1, 2 and 2 subtrees.
  REQUIRE(dyadic_cover({0, 8}, 8) == std::vector<TreeNode>{{3, 0}});
  REQUIRE(dyadic_cover({2, 5}, 8) == std::vector<TreeNode>{{1, 1}, {0, 4}});
  REQUIRE(dyadic_cover({5, 8}, 8) == std::vector<TreeNode>{{0, 5}, {1, 3}});
}

TEST_CASE("fixed-order sum: any number of ranks gives the bits of one", "[distributed]") {
  const std::size_t n = 33;
  for (std::int64_t shards : {1, 2, 3, 5, 8, 12, 16}) {
    const auto all = test::shard_gradients<float>(shards, n, std::uint32_t(shards));
    std::vector<float> one(n), many(n);
    fixed_order_sum<float>(all, shards, one);
    // A sum: close to the double-precision sum.
    for (std::size_t j = 0; j < n; ++j) {
      double exact = 0, magnitude = 0;
      for (std::int64_t s = 0; s < shards; ++s) {
        exact += all[std::size_t(s) * n + j];
        magnitude += std::abs(all[std::size_t(s) * n + j]);
      }
      REQUIRE(std::abs(one[j] - exact) <= 1e-6 * magnitude);
    }
    for (int ranks = 1; ranks <= shards; ++ranks) {
      std::vector<float> gathered;
      for (int r = 0; r < ranks; ++r) {
        const ShardRange range = shards_of_rank(r, ranks, shards);
        const auto own = std::span<const float>(all).subspan(std::size_t(range.first) * n, std::size_t(range.last - range.first) * n);
        const auto values = cover_values<float>(range, shards, own, n);
        gathered.insert(gathered.end(), values.begin(), values.end());
      }
      combine_cover<float>(gathered, ranks, shards, many);
      INFO(shards << " shards on " << ranks << " ranks");
      REQUIRE(std::memcmp(one.data(), many.data(), n * sizeof(float)) == 0);
    }
  }
}

TEST_CASE("fixed-order sum: the data is order-sensitive, so the test above checks the order", "[distributed]") {
  const std::int64_t shards = 8;
  const std::size_t n = 256;
  const auto all = test::shard_gradients<float>(shards, n, 8);
  std::vector<float> tree(n), left_fold(n, 0.0f);
  fixed_order_sum<float>(all, shards, tree);
  for (std::int64_t s = 0; s < shards; ++s)
    for (std::size_t j = 0; j < n; ++j) left_fold[j] += all[std::size_t(s) * n + j];
  REQUIRE(std::memcmp(tree.data(), left_fold.data(), n * sizeof(float)) != 0);
}

TEST_CASE("fixed-order sum: bad layouts are errors", "[distributed]") {
  std::vector<float> out(4), three(12);
  REQUIRE_THROWS_AS(fixed_order_sum<float>(three, 4, out), argument_error);  // 12 != 4 x 4
  REQUIRE_THROWS_AS(shards_of_rank(0, 3, 2), argument_error);                // fewer shards than ranks
  REQUIRE_THROWS_AS(combine_cover<float>(std::span<const float>(three).first(8), 1, 3, out), argument_error);
}
