#include "farbound/sampling/unlabelled_cloud.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

using namespace farbound;

namespace {

// N images [N, 1, 4, 4] with pixels in [0, 1] and labels j % 3.
struct Labelled {
  Tensor<float> images;
  std::vector<int> labels;
};

Labelled make_labelled(std::int64_t n) {
  Labelled l{Tensor<float>({n, 1, 4, 4}), {}};
  RandomStream(9, Purpose::data).uniform(l.images.span());
  for (std::int64_t j = 0; j < n; ++j) l.labels.push_back(int(j % 3));
  return l;
}

std::vector<std::uint32_t> all_ids(std::int64_t n) {
  std::vector<std::uint32_t> ids(std::size_t(n), 0);
  std::iota(ids.begin(), ids.end(), 0u);
  return ids;
}

}  // namespace

TEST_CASE("Anchor ids: labelled points first, then Nu copies of each", "[cloud]") {
  const UnlabelledCloud cloud(5, 3, GaussianNoise(0.1), 1);
  CHECK(cloud.anchor_count() == 20);
  CHECK(cloud.is_labelled(4));
  CHECK_FALSE(cloud.is_labelled(5));
  CHECK(cloud.copy_id(0, 0) == 5);
  CHECK(cloud.copy_id(2, 1) == 5 + 2 * 3 + 1);
  for (std::int64_t j = 0; j < 5; ++j) {
    CHECK(cloud.source(std::uint32_t(j)) == j);
    for (std::int64_t u = 0; u < 3; ++u) CHECK(cloud.source(cloud.copy_id(j, u)) == j);
  }
  CHECK(cloud.label(3, 7) == 7);
  CHECK(cloud.label(cloud.copy_id(3, 0), 7) == -1);
  std::vector<std::int64_t> src;
  const std::vector<std::uint32_t> ids = {19, 0, 7};
  cloud.sources(ids, src);
  CHECK(src == std::vector<std::int64_t>{4, 0, 0});
}

TEST_CASE("Labelled anchors are copied; unlabelled ones are perturbed copies with the requested noise", "[cloud]") {
  const auto data = make_labelled(400);
  const double sigma = 0.05;
  const UnlabelledCloud cloud(400, 2, GaussianNoise(sigma), 11);
  const auto ids = all_ids(cloud.anchor_count());
  Tensor<float> anchors(data.images.shape().with_batch(cloud.anchor_count()));
  std::vector<int> labels;
  cloud.gather_anchors(3, ids, data.images.view(), data.labels, anchors.view(), labels);
  const std::int64_t item = 16;
  double sum = 0, squares = 0, below_zero = 0;
  std::int64_t count = 0;
  for (std::uint32_t id : ids) {
    const std::int64_t j = cloud.source(id);
    const float* x = data.images.data() + j * item;
    const float* a = anchors.data() + std::int64_t(id) * item;
    if (cloud.is_labelled(id)) {
      CHECK(labels[id] == data.labels[std::size_t(j)]);
      for (std::int64_t p = 0; p < item; ++p) REQUIRE(a[p] == x[p]);
    } else {
      CHECK(labels[id] == -1);
      for (std::int64_t p = 0; p < item; ++p) {
        const double d = double(a[p]) - double(x[p]);
        sum += d;
        squares += d * d;
        below_zero += a[p] < 0;
        ++count;
      }
    }
  }
  const double mean = sum / double(count);
  CHECK(mean == Approx(0.0).margin(0.003));
  CHECK(std::sqrt(squares / double(count) - mean * mean) == Approx(sigma).epsilon(0.03));
  CHECK(below_zero > 0);  // not clipped to the pixel range
}

TEST_CASE("The cloud is regenerated every epoch and reproducible within one", "[cloud]") {
  const auto data = make_labelled(10);
  const UnlabelledCloud cloud(10, 1, GaussianNoise(0.1), 5);
  const std::vector<std::uint32_t> ids = {12, 3, 17};
  Tensor<float> e0({3, 1, 4, 4}), e0_again({3, 1, 4, 4}), e1({3, 1, 4, 4});
  std::vector<int> labels;
  cloud.gather_anchors(0, ids, data.images.view(), data.labels, e0.view(), labels);
  cloud.gather_anchors(0, ids, data.images.view(), data.labels, e0_again.view(), labels);
  cloud.gather_anchors(1, ids, data.images.view(), data.labels, e1.view(), labels);
  CHECK(std::equal(e0.span().begin(), e0.span().end(), e0_again.span().begin()));
  // Rows 0 and 2 are unlabelled copies: new noise in epoch 1; row 1 is the labelled point.
  CHECK_FALSE(std::equal(e0.data(), e0.data() + 16, e1.data()));
  CHECK(std::equal(e0.data() + 16, e0.data() + 32, e1.data() + 16));
  CHECK_FALSE(std::equal(e0.data() + 32, e0.data() + 48, e1.data() + 32));
  // Another seed, another cloud.
  const UnlabelledCloud other(10, 1, GaussianNoise(0.1), 6);
  Tensor<float> o({3, 1, 4, 4});
  other.gather_anchors(0, ids, data.images.view(), data.labels, o.view(), labels);
  CHECK_FALSE(std::equal(e0.data(), e0.data() + 16, o.data()));
}

TEST_CASE("make_anchors from gathered sources equals gather_anchors, also in place", "[cloud]") {
  const auto data = make_labelled(10);
  const UnlabelledCloud cloud(10, 2, BoxNoise(0.02), 5);
  const std::vector<std::uint32_t> ids = {25, 3, 10, 29, 0};
  Tensor<float> expected({5, 1, 4, 4});
  std::vector<int> expected_labels;
  cloud.gather_anchors(4, ids, data.images.view(), data.labels, expected.view(), expected_labels);

  std::vector<std::int64_t> src;
  cloud.sources(ids, src);
  Tensor<float> rows({5, 1, 4, 4});
  std::vector<int> labels;
  for (std::size_t b = 0; b < src.size(); ++b) {
    std::copy_n(data.images.data() + src[b] * 16, 16, rows.data() + std::int64_t(b) * 16);
    labels.push_back(data.labels[std::size_t(src[b])]);
  }
  Tensor<float> out({5, 1, 4, 4});
  cloud.make_anchors(4, ids, rows.view(), out.view());
  CHECK(std::equal(out.span().begin(), out.span().end(), expected.span().begin()));
  cloud.make_anchors(4, ids, rows.view(), rows.view());  // in place
  CHECK(std::equal(rows.span().begin(), rows.span().end(), expected.span().begin()));
  for (std::size_t b = 0; b < ids.size(); ++b) CHECK(cloud.label(ids[b], labels[b]) == expected_labels[b]);
}

TEST_CASE("Unlabelled points may come from another data set", "[cloud]") {
  const auto data = make_labelled(4);
  Tensor<float> pool({3, 1, 4, 4});
  for (std::int64_t i = 0; i < pool.numel(); ++i) pool[i] = 10.0f + float(i / 16);
  const UnlabelledCloud cloud(4, 2, DrawFromPool<float>(pool.view()), 2);
  const auto ids = all_ids(cloud.anchor_count());
  Tensor<float> anchors({12, 1, 4, 4});
  std::vector<int> labels;
  cloud.gather_anchors(0, ids, data.images.view(), data.labels, anchors.view(), labels);
  for (std::int64_t id = 4; id < 12; ++id) {
    const float v = anchors[id * 16];
    CHECK((v == 10.0f || v == 11.0f || v == 12.0f));
    CHECK(labels[std::size_t(id)] == -1);
  }
  Tensor<float> small_pool({3, 5});
  const UnlabelledCloud mismatched(4, 2, DrawFromPool<float>(small_pool.view()), 2);
  CHECK_THROWS_AS(mismatched.gather_anchors(0, ids, data.images.view(), data.labels, anchors.view(), labels), shape_error);
}

TEST_CASE("The cloud rejects bad arguments and shapes", "[cloud][errors]") {
  CHECK_THROWS_AS(UnlabelledCloud(5, -1, GaussianNoise(0.1), 1), argument_error);
  CHECK_THROWS_WITH(UnlabelledCloud(5, -1, GaussianNoise(0.1), 1), Catch::Contains("-1"));
  CHECK_THROWS_AS(UnlabelledCloud(0, 1, GaussianNoise(0.1), 1), argument_error);
  CHECK_THROWS_AS(UnlabelledCloud(std::int64_t(1) << 31, 2, GaussianNoise(0.1), 1), argument_error);
  const UnlabelledCloud cloud(4, 1, GaussianNoise(0.1), 1);
  CHECK_THROWS_AS(cloud.source(8), argument_error);
  CHECK_THROWS_AS(cloud.copy_id(4, 0), argument_error);
  CHECK_THROWS_AS(cloud.copy_id(0, 1), argument_error);
  const auto data = make_labelled(4);
  std::vector<int> labels;
  Tensor<float> anchors({2, 1, 4, 4}), wrong({3, 1, 4, 4});
  const std::vector<std::uint32_t> ids = {1, 6}, bad = {1, 8};
  CHECK_THROWS_AS(cloud.gather_anchors(0, bad, data.images.view(), data.labels, anchors.view(), labels), argument_error);
  CHECK_THROWS_WITH(cloud.gather_anchors(0, ids, data.images.view(), data.labels, wrong.view(), labels),
                    Catch::Contains("[3, 1, 4, 4]"));
  const auto five = make_labelled(5);
  CHECK_THROWS_WITH(cloud.gather_anchors(0, ids, five.images.view(), five.labels, anchors.view(), labels),
                    Catch::Contains("[5, 1, 4, 4]"));
  std::vector<int> three_labels = {0, 1, 2};
  CHECK_THROWS_AS(cloud.gather_anchors(0, ids, data.images.view(), three_labels, anchors.view(), labels), shape_error);
  Tensor<float> flat({2, 15});
  CHECK_THROWS_AS(cloud.gather_anchors(0, ids, data.images.view(), data.labels, flat.view(), labels), shape_error);
}
