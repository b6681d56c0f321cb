#include "farbound/sampling/anchor_batch.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "farbound/core/parallel.hpp"
#include "farbound/sampling/anchor_stream.hpp"

using namespace farbound;

namespace {

constexpr std::int64_t N = 37, Nu = 2, K = 3, item = 16 * 16;  // enough values per row to run rows in parallel

struct Fixture {
  Tensor<float> images{Shape{N, 1, 16, 16}};
  std::vector<int> labels;
  UnlabelledCloud<GaussianNoise> cloud{N, Nu, GaussianNoise(0.05), 123};
  Neighbours<GaussianNoise> neighbours{K, GaussianNoise(0.005), 123};
  Fixture() {
    RandomStream(1, Purpose::data).uniform(images.span());
    for (std::int64_t j = 0; j < N; ++j) labels.push_back(int(j % 10));
  }
};

// Everything a batch says about one anchor, recorded under its id.
struct AnchorRecord {
  std::vector<float> anchor, neighbours, r;
  int label = -2;
  bool operator==(const AnchorRecord&) const = default;
};

// Runs one epoch with the given batch size, visiting the batches forwards or backwards, and
// records every anchor's rows by id.
std::vector<AnchorRecord> run_epoch(const Fixture& f, std::uint32_t epoch, std::int64_t batch_size, bool reverse) {
  AnchorStream stream(f.cloud.anchor_count(), 123);
  stream.shuffle(epoch);
  std::vector<AnchorRecord> records(std::size_t(f.cloud.anchor_count()));
  Tensor<float> inputs, r;
  std::vector<int> labels;
  const std::int64_t batches = stream.batch_count(batch_size);
  for (std::int64_t n = 0; n < batches; ++n) {
    const auto ids = stream.batch(reverse ? batches - 1 - n : n, batch_size);
    fill_anchor_batch(f.cloud, f.neighbours, epoch, ids, f.images.view(), f.labels, inputs, r, labels);
    const auto B = std::int64_t(ids.size());
    REQUIRE(inputs.shape() == Shape{B + B * K, 1, 16, 16});
    REQUIRE(r.shape() == Shape{B * K});
    REQUIRE(std::int64_t(labels.size()) == B);
    for (std::int64_t i = 0; i < B; ++i) {
      auto& rec = records[ids[std::size_t(i)]];
      rec.anchor.assign(inputs.data() + i * item, inputs.data() + (i + 1) * item);
      rec.neighbours.assign(inputs.data() + (B + i * K) * item, inputs.data() + (B + (i + 1) * K) * item);
      rec.r.assign(r.data() + i * K, r.data() + (i + 1) * K);
      rec.label = labels[std::size_t(i)];
    }
  }
  return records;
}

}  // namespace

TEST_CASE("The same anchors and neighbours whatever the batch size, thread count or order", "[anchor_batch]") {
  const Fixture f;
  const int saved = max_threads();
  set_threads(1);
  const auto reference = run_epoch(f, 5, 1, false);
  for (const auto& rec : reference) REQUIRE(rec.label != -2);  // every anchor visited
  for (int threads : {1, 2})
    for (std::int64_t batch_size : {1, 7, 64, 200})
      for (bool reverse : {false, true}) {
        set_threads(threads);
        INFO("threads " << threads << " batch " << batch_size << " reverse " << reverse);
        CHECK(run_epoch(f, 5, batch_size, reverse) == reference);
      }
  set_threads(saved);
  // Another epoch: the same labelled anchors, new unlabelled copies and neighbours.
  const auto next = run_epoch(f, 6, 7, false);
  for (std::int64_t id = 0; id < f.cloud.anchor_count(); ++id) {
    const auto& a = reference[std::size_t(id)];
    const auto& b = next[std::size_t(id)];
    CHECK((a.anchor == b.anchor) == f.cloud.is_labelled(std::uint32_t(id)));
    CHECK(a.neighbours != b.neighbours);
  }
}

TEST_CASE("An anchor batch lays out anchors, their neighbours, r and labels", "[anchor_batch]") {
  const Fixture f;
  const std::vector<std::uint32_t> ids = {40, 3, 110};  // unlabelled, labelled, unlabelled
  Tensor<float> inputs, r;
  std::vector<int> labels;
  fill_anchor_batch(f.cloud, f.neighbours, 0, ids, f.images.view(), f.labels, inputs, r, labels);
  CHECK(labels == std::vector<int>{-1, 3, -1});
  CHECK(std::equal(inputs.data() + item, inputs.data() + 2 * item, f.images.data() + 3 * item));
  for (std::int64_t i = 0; i < 3; ++i)
    for (std::int64_t k = 0; k < K; ++k) {
      double dist = 0;
      for (std::int64_t p = 0; p < item; ++p) {
        const double d = double(inputs[(3 + i * K + k) * item + p]) - double(inputs[i * item + p]);
        dist += d * d;
      }
      CHECK(r[i * K + k] == float(dist));
    }
  // Steady state: another batch of the same size reuses the buffers.
  const float* in_data = inputs.data();
  const float* r_data = r.data();
  const std::vector<std::uint32_t> more = {0, 1, 2};
  fill_anchor_batch(f.cloud, f.neighbours, 0, more, f.images.view(), f.labels, inputs, r, labels);
  CHECK(inputs.data() == in_data);
  CHECK(r.data() == r_data);
}

TEST_CASE("An anchor batch checks the labelled set against the cloud", "[anchor_batch][errors]") {
  const Fixture f;
  Tensor<float> inputs, r, other({N + 1, 1, 16, 16});
  std::vector<int> labels, other_labels(std::size_t(N + 1), 0);
  const std::vector<std::uint32_t> ids = {0};
  CHECK_THROWS_WITH(fill_anchor_batch(f.cloud, f.neighbours, 0, ids, other.view(), other_labels, inputs, r, labels),
                    Catch::Contains("[38, 1, 16, 16]"));
}
