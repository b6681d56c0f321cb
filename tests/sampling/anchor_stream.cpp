#include "farbound/sampling/anchor_stream.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

using namespace farbound;

TEST_CASE("Each epoch's order is a permutation of all anchors", "[stream]") {
  AnchorStream stream(1001, 17);
  std::vector<std::uint32_t> identity(1001);
  std::iota(identity.begin(), identity.end(), 0u);
  CHECK(std::equal(stream.order().begin(), stream.order().end(), identity.begin()));
  std::vector<std::vector<std::uint32_t>> orders;
  for (std::uint32_t epoch = 0; epoch < 3; ++epoch) {
    stream.shuffle(epoch);
    std::vector<std::uint32_t> order(stream.order().begin(), stream.order().end());
    orders.push_back(order);
    std::sort(order.begin(), order.end());
    CHECK(order == identity);
  }
  CHECK(orders[0] != orders[1]);
  CHECK(orders[1] != orders[2]);
  // A function of (seed, epoch) alone.
  AnchorStream again(1001, 17), other_seed(1001, 18);
  again.shuffle(1);
  CHECK(std::equal(again.order().begin(), again.order().end(), orders[1].begin()));
  other_seed.shuffle(1);
  CHECK_FALSE(std::equal(other_seed.order().begin(), other_seed.order().end(), orders[1].begin()));
}

TEST_CASE("Shuffles are uniform: every anchor is equally likely first", "[stream]") {
  AnchorStream stream(8, 3);
  std::vector<int> first(8, 0);
  for (std::uint32_t epoch = 0; epoch < 8000; ++epoch) {
    stream.shuffle(epoch);
    ++first[stream.order()[0]];
  }
  for (int c : first) CHECK(c == Approx(1000).margin(120));
}

TEST_CASE("Batches are consecutive runs of the order; the last may be short", "[stream]") {
  AnchorStream stream(10, 1);
  stream.shuffle(4);
  CHECK(stream.batch_count(4) == 3);
  CHECK(stream.batch_count(10) == 1);
  CHECK(stream.batch_count(64) == 1);
  std::vector<std::uint32_t> joined;
  for (std::int64_t b = 0; b < 3; ++b) {
    const auto batch = stream.batch(b, 4);
    CHECK(batch.size() == (b < 2 ? 4u : 2u));
    joined.insert(joined.end(), batch.begin(), batch.end());
  }
  CHECK(std::equal(joined.begin(), joined.end(), stream.order().begin()));
}

TEST_CASE("The stream rejects bad sizes", "[stream][errors]") {
  CHECK_THROWS_AS(AnchorStream(0, 1), argument_error);
  CHECK_THROWS_AS(AnchorStream((std::int64_t(1) << 26) + 1, 1), argument_error);
  AnchorStream stream(10, 1);
  CHECK_THROWS_WITH(stream.batch_count(0), Catch::Contains("0"));
  CHECK_THROWS_AS(stream.batch(3, 4), argument_error);
  CHECK_THROWS_AS(stream.batch(-1, 4), argument_error);
}
