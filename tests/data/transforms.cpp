#include "farbound/data/transforms.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <set>
#include <utility>
#include <vector>

#include "data/bytes.hpp"

using namespace farbound;
using namespace farbound::test;

namespace {

// Images whose pixel k (over the whole batch) is k + 1: every value distinct and non-zero.
template <class T>
Tensor<T> counting(Shape s) {
  Tensor<T> t(s);
  for (std::int64_t k = 0; k < t.numel(); ++k) t[k] = T(k + 1);
  return t;
}

// The shift (sy, sx) with out(y, x) = in(y + sy, x + sx) (zero outside) for item i, if any.
template <class T>
std::pair<int, int> find_shift(const Tensor<T>& in, const Tensor<T>& out, std::int64_t i, int padding) {
  const std::int64_t c = in.size(1), h = in.size(2), w = in.size(3);
  for (int sy = -padding; sy <= padding; ++sy)
    for (int sx = -padding; sx <= padding; ++sx) {
      bool match = true;
      for (std::int64_t ch = 0; ch < c && match; ++ch)
        for (std::int64_t y = 0; y < h && match; ++y)
          for (std::int64_t x = 0; x < w && match; ++x) {
            const std::int64_t yy = y + sy, xx = x + sx;
            const T expect = yy >= 0 && yy < h && xx >= 0 && xx < w ? in[((i * c + ch) * h + yy) * w + xx] : T(0);
            match = out[((i * c + ch) * h + y) * w + x] == expect;
          }
      if (match) return {sy, sx};
    }
  FAIL("item " << i << " is no shift of its input");
  return {0, 0};
}

}  // namespace

TEMPLATE_TEST_CASE("zero_pad centres images on zeros", "[transforms]", float, double) {
  const Tensor<TestType> in = counting<TestType>({2, 1, 2, 2});
  Tensor<TestType> out;
  zero_pad<TestType>(in, out, 4, 4);
  REQUIRE(out.shape() == Shape{2, 1, 4, 4});
  const std::vector<TestType> first(out.data(), out.data() + 16);
  CHECK(first == std::vector<TestType>{0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0});
  CHECK(out[16 + 5] == 5);
  // An odd margin puts the extra row and column at the bottom and right.
  zero_pad<TestType>(in, out, 3, 5);
  const std::vector<TestType> odd(out.data(), out.data() + 15);
  CHECK(odd == std::vector<TestType>{0, 1, 2, 0, 0, 0, 3, 4, 0, 0, 0, 0, 0, 0, 0});
  // 28 x 28 -> 32 x 32: two zero rows and columns on each side.
  const Tensor<TestType> mnist = counting<TestType>({1, 1, 28, 28});
  zero_pad<TestType>(mnist, out, 32, 32);
  CHECK(out[2 * 32 + 2] == 1);
  CHECK(out[29 * 32 + 29] == 784);
  CHECK(out[30 * 32 + 30] == 0);
  CHECK(error_text<shape_error>([&] { zero_pad<TestType>(in, out, 1, 4); }) == "zero_pad: cannot pad [2, 1, 2, 2] to 1x4");
  CHECK(error_text<argument_error>([&] { zero_pad<TestType>(out, out, 40, 40); }) ==
        "zero_pad: the output tensor holds the input; pass another tensor");
}

TEMPLATE_TEST_CASE("resize_bilinear interpolates with half-pixel centres", "[transforms]", float, double) {
  // A linear ramp v = 2 r + c is reproduced exactly at the sampled coordinates.
  Tensor<TestType> in({1, 1, 2, 2});
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 2; ++c) in[r * 2 + c] = TestType(2 * r + c);
  Tensor<TestType> out;
  resize_bilinear<TestType>(in, out, 4, 4);
  REQUIRE(out.shape() == Shape{1, 1, 4, 4});
  const double a[4] = {0, 0.25, 0.75, 1};  // clamp((i + 0.5) / 2 - 0.5, 0, 1)
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) CHECK(out[y * 4 + x] == Approx(2 * a[y] + a[x]));

  // 28 -> 32 on a ramp: the source coordinate of output i is (i + 0.5) * 28 / 32 - 0.5.
  Tensor<TestType> ramp({2, 1, 28, 28});
  for (std::int64_t k = 0; k < ramp.numel(); ++k) ramp[k] = TestType((k % 784) / 28 + 3 * (k % 28));
  resize_bilinear<TestType>(ramp, out, 32, 32);
  const auto src = [](int i) { return std::clamp((i + 0.5) * 28 / 32 - 0.5, 0.0, 27.0); };
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x) CHECK(out[1024 + y * 32 + x] == Approx(src(y) + 3 * src(x)));

  // Same size is the identity; constant images stay constant at any size.
  const Tensor<TestType> count = counting<TestType>({2, 3, 5, 4});
  resize_bilinear<TestType>(count, out, 5, 4);
  CHECK(std::equal(out.data(), out.data() + out.numel(), count.data()));
  Tensor<TestType> flat({1, 2, 7, 9}, TestType(0.25));
  for (auto [h, w] : {std::pair{3, 2}, std::pair{32, 32}, std::pair{1, 1}}) {
    resize_bilinear<TestType>(flat, out, h, w);
    CHECK(out.shape() == Shape{1, 2, h, w});
    for (std::int64_t k = 0; k < out.numel(); ++k) REQUIRE(out[k] == TestType(0.25));
  }
}

TEST_CASE("random_crop shifts each image by its own draw, zero-filled", "[transforms]") {
  const Tensor<float> in = counting<float>({64, 2, 5, 5});
  std::vector<std::int64_t> samples(64);
  std::iota(samples.begin(), samples.end(), 100);
  Tensor<float> out;
  random_crop<float>(in, out, 0, {7, 0, samples});
  CHECK(std::equal(out.data(), out.data() + out.numel(), in.data()));

  random_crop<float>(in, out, 2, {7, 3, samples});
  REQUIRE(out.shape() == in.shape());
  std::set<std::pair<int, int>> shifts;
  for (std::int64_t i = 0; i < 64; ++i) shifts.insert(find_shift(in, out, i, 2));
  CHECK(shifts.size() > 15);  // of the 25 possible, with 64 draws

  // The draw belongs to the sample, not to its place in the batch: reversing the batch
  // reverses the output.
  Tensor<float> in_rev({64, 2, 5, 5}), out_rev;
  std::vector<std::int64_t> rev(samples.rbegin(), samples.rend());
  for (std::int64_t i = 0; i < 64; ++i) std::copy_n(in.data() + (63 - i) * 50, 50, in_rev.data() + i * 50);
  random_crop<float>(in_rev, out_rev, 2, {7, 3, rev});
  for (std::int64_t i = 0; i < 64; ++i) REQUIRE(std::equal(out.data() + i * 50, out.data() + (i + 1) * 50, out_rev.data() + (63 - i) * 50));

  // Another epoch or seed draws again; the same key repeats.
  Tensor<float> again;
  random_crop<float>(in, again, 2, {7, 3, samples});
  CHECK(std::equal(out.data(), out.data() + out.numel(), again.data()));
  random_crop<float>(in, again, 2, {7, 4, samples});
  CHECK(!std::equal(out.data(), out.data() + out.numel(), again.data()));

  CHECK(error_text<shape_error>([&] { random_crop<float>(in, out, 2, {7, 3, std::span(samples).first(3)}); }) ==
        "random_crop: 3 sample indices for a batch of 64");
  CHECK(error_text<argument_error>([&] { random_crop<float>(in, out, -1, {7, 3, samples}); }) ==
        "random_crop: padding -1 outside [0, 2^20]");
}

TEST_CASE("random_horizontal_flip mirrors about half of the images", "[transforms]") {
  const Tensor<double> in = counting<double>({200, 3, 2, 3});
  std::vector<std::int64_t> samples(200);
  std::iota(samples.begin(), samples.end(), 0);
  Tensor<double> out = in.clone();
  random_horizontal_flip<double>(out, {11, 2, samples});
  int flipped = 0;
  for (std::int64_t i = 0; i < 200; ++i) {
    const double* a = in.data() + i * 18;
    const double* b = out.data() + i * 18;
    const bool same = std::equal(a, a + 18, b);
    bool mirrored = true;
    for (int row = 0; row < 6; ++row)
      for (int x = 0; x < 3; ++x) mirrored = mirrored && b[row * 3 + x] == a[row * 3 + 2 - x];
    REQUIRE(same != mirrored);
    flipped += mirrored;
  }
  CHECK(flipped > 70);
  CHECK(flipped < 130);
  // Flipping again with the same key restores the input.
  random_horizontal_flip<double>(out, {11, 2, samples});
  CHECK(std::equal(out.data(), out.data() + out.numel(), in.data()));
  // A known image: rows [1 2 3] -> [3 2 1].
  Tensor<float> one({1, 1, 1, 3});
  one[0] = 1;
  one[1] = 2;
  one[2] = 3;
  flip_horizontally<float>(one, 0);
  CHECK(std::vector<float>(one.data(), one.data() + 3) == std::vector<float>{3, 2, 1});
}
