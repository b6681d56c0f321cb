#include "farbound/data/split.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "data/bytes.hpp"

using namespace farbound;
using namespace farbound::test;

namespace {

// Classes of the given sizes, interleaved.
std::vector<int> labels(std::vector<int> sizes = {10, 7, 0, 3}) {
  std::vector<int> y;
  for (int round = 0; round < 10; ++round)
    for (std::size_t c = 0; c < sizes.size(); ++c)
      if (round < sizes[c]) y.push_back(int(c));
  return y;
}

std::vector<std::int64_t> per_class(const std::vector<std::int64_t>& idx, const std::vector<int>& y) {
  std::vector<std::int64_t> counts(4, 0);
  for (auto i : idx) ++counts[std::size_t(y[std::size_t(i)])];
  return counts;
}

}  // namespace

TEST_CASE("stratified_split keeps floor(0.8 n) of every class for training", "[split]") {
  const std::vector<int> y = labels();
  const TrainValSplit s = stratified_split(y, 4, 27432);
  CHECK(per_class(s.train, y) == std::vector<std::int64_t>{8, 5, 0, 2});
  CHECK(per_class(s.val, y) == std::vector<std::int64_t>{2, 2, 0, 1});
  // Train and validation partition the set.
  std::vector<std::int64_t> all = s.train;
  all.insert(all.end(), s.val.begin(), s.val.end());
  std::sort(all.begin(), all.end());
  std::vector<std::int64_t> expect(y.size());
  std::iota(expect.begin(), expect.end(), 0);
  CHECK(all == expect);
  // Class by class: class 0's items come first.
  CHECK(y[std::size_t(s.train.front())] == 0);
  CHECK(y[std::size_t(s.train.back())] == 3);

  const TrainValSplit half = stratified_split(y, 4, 1, {.train_fraction = 0.5});
  CHECK(per_class(half.train, y) == std::vector<std::int64_t>{5, 3, 0, 1});
}

TEST_CASE("stratified_split is a function of the seed", "[split]") {
  const std::vector<int> y = labels();
  const TrainValSplit a = stratified_split(y, 4, 30416), b = stratified_split(y, 4, 30416);
  CHECK(a.train == b.train);
  CHECK(a.val == b.val);
  const TrainValSplit c = stratified_split(y, 4, 48563);
  CHECK(a.train != c.train);
}

TEST_CASE("stratified_split takes num_train / num_val per class as the reference", "[split]") {
  const std::vector<int> y = labels({10, 7, 3, 5});
  const TrainValSplit s = stratified_split(y, 4, 7, {.train_per_class = 2, .val_per_class = 1});
  CHECK(per_class(s.train, y) == std::vector<std::int64_t>{2, 2, 2, 2});
  CHECK(per_class(s.val, y) == std::vector<std::int64_t>{1, 1, 1, 1});
  // They are the first of the full split's parts.
  const TrainValSplit full = stratified_split(y, 4, 7);
  CHECK(std::equal(s.train.begin(), s.train.begin() + 2, full.train.begin()));
  CHECK(std::equal(s.val.begin(), s.val.begin() + 1, full.val.begin()));

  // Asking for more than a class has is an error (the reference would silently take fewer).
  CHECK(error_text<argument_error>([&] { stratified_split(y, 4, 7, {.train_per_class = 3}); }) ==
        "stratified_split: train_per_class 3 but class 2 has only 2 for it");
  CHECK(error_text<argument_error>([&] { stratified_split(labels(), 4, 7, {.val_per_class = 1}); }) ==
        "stratified_split: val_per_class 1 but class 2 has only 0 for it");
  CHECK(error_text<argument_error>([&] { stratified_split(y, 4, 7, {.train_fraction = 1.5}); }) ==
        "stratified_split: train_fraction 1.500000 outside [0, 1]");
  CHECK(error_text<argument_error>([&] { stratified_split(labels(), 3, 7); }) ==
        "stratified_split: label 3 of item 2 outside [0, 3)");
}

TEST_CASE("shuffle permutes, determined by the stream", "[split]") {
  std::vector<std::int64_t> v(1000);
  std::iota(v.begin(), v.end(), 0);
  std::vector<std::int64_t> a = v, b = v;
  shuffle(a, RandomStream(3, Purpose::shuffle, 1));
  shuffle(b, RandomStream(3, Purpose::shuffle, 1));
  CHECK(a == b);
  CHECK(a != v);
  std::sort(a.begin(), a.end());
  CHECK(a == v);
  // Every position is about equally likely for element 0 (uniform permutations).
  std::vector<int> where(4, 0);
  for (std::uint32_t t = 0; t < 4000; ++t) {
    std::vector<std::int64_t> small{0, 1, 2, 3};
    shuffle(small, RandomStream(9, Purpose::user, t));
    ++where[std::size_t(std::find(small.begin(), small.end(), 0) - small.begin())];
  }
  for (int count : where) CHECK(count == Approx(1000).margin(120));
}
