#include "farbound/nn/pool.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "support/gradcheck.hpp"
#include "support/layer_checks.hpp"

using namespace farbound;
using testing::random_tensor;
using testing::tensor_of;

namespace {
const auto plane4x4 = std::vector<double>{1, 5, 2, 0,  //
                                          3, 4, 8, 8,  //
                                          -1, -2, 0, 7, //
                                          -3, -4, 6, 1};
}

TEST_CASE("MaxPool2d forward and backward match a hand computation", "[pool]") {
  MaxPool2d<double> pool(2);
  const auto x = tensor_of<double>({1, 1, 4, 4}, plane4x4);
  Tensor<double> y, dx;
  pool.forward(x.view(), y);
  REQUIRE(y.shape() == Shape{1, 1, 2, 2});
  CHECK(y[0] == 5);
  CHECK(y[1] == 8);
  CHECK(y[2] == -1);
  CHECK(y[3] == 7);
  const auto g = tensor_of<double>({1, 1, 2, 2}, {10, 20, 30, 40});
  pool.backward(x.view(), y.view(), g.view(), &dx, ParamGrads::accumulate);
  // Each gradient goes to its window's maximum; of the tied 8s the first one gets it.
  const double expected[16] = {0, 10, 0, 0, 0, 0, 20, 0, 30, 0, 0, 40, 0, 0, 0, 0};
  for (int i = 0; i < 16; ++i) CHECK(dx[i] == expected[i]);

  // Overlapping windows (kernel 3, stride 1) add up at a shared maximum.
  MaxPool2d<double> overlap(3, 1);
  overlap.forward(x.view(), y);
  REQUIRE(y.shape() == Shape{1, 1, 2, 2});
  CHECK(y[0] == 8);
  CHECK(y[3] == 8);
  overlap.backward(x.view(), y.view(), g.view(), &dx, ParamGrads::accumulate);
  CHECK(dx[6] == 10 + 20 + 30 + 40);  // x[1,2] = 8 is the first maximum of all four windows
}

TEST_CASE("MaxPool2d propagates NaN", "[pool]") {
  MaxPool2d<float> pool(2);
  auto x = tensor_of<float>({1, 1, 2, 2}, {1, 2, 3, 4});
  x[1] = std::numeric_limits<float>::quiet_NaN();
  Tensor<float> y;
  pool.forward(x.view(), y);
  CHECK(std::isnan(y[0]));
}

TEST_CASE("MaxPool2d's vectorised 2x2 backward (float) gives the scalar version's gradient", "[pool]") {
  // Values from {0, 1, 2, 3} tie often, and NaNs appear: the first hit in window order must
  // take the gradient. Rows of 37 outputs cover full batches of 8 and a tail of 5 (on AVX2
  // the row's last 8 windows again, on AVX-512 masked loads), rows of 5 outputs (LeNet's 10 x
  // 10 planes) a tail alone (masked loads); the odd input width and height leave a column
  // and a row outside every window. With even ones every input position is written, so the
  // gradient is not zeroed first: it starts out as NaN here to show that nothing stale
  // survives. The double layer runs the scalar loop on the same values.
  for (const Shape shape : {Shape{2, 3, 7, 75}, Shape{2, 3, 8, 74}, Shape{2, 3, 10, 10}, Shape{2, 3, 9, 11}}) {
    INFO("input " << shape.to_string());
    auto x = random_tensor<float>(shape, 41);
    Tensor<double> xd(shape);
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      x[i] = i % 53 == 0 ? std::numeric_limits<float>::quiet_NaN() : std::floor(4 * std::abs(x[i]));
      xd[i] = double(x[i]);
    }
    MaxPool2d<float> pool(2);
    MaxPool2d<double> pool_d(2);
    Tensor<float> y, dx;
    Tensor<double> yd, dxd;
    pool.forward(x.view(), y);
    pool_d.forward(xd.view(), yd);
    auto g = random_tensor<float>(y.shape(), 42);
    Tensor<double> gd(y.shape());
    for (std::int64_t i = 0; i < g.numel(); ++i) gd[i] = double(g[i]);
    dx.resize(shape);
    dx.fill(std::numeric_limits<float>::quiet_NaN());
    pool.backward(x.view(), y.view(), g.view(), &dx, ParamGrads::accumulate);
    pool_d.backward(xd.view(), yd.view(), gd.view(), &dxd, ParamGrads::accumulate);
    std::int64_t differ = 0, nonzero = 0;
    for (std::int64_t i = 0; i < dx.numel(); ++i) {
      differ += double(dx[i]) != dxd[i];
      nonzero += dx[i] != 0;
    }
    CHECK(differ == 0);
    CHECK(nonzero == y.numel());  // one winner per window
  }
}

// Windows that do not overlap are reduced in other orders than the row-major walk (by columns,
// on lanes, 2 x 2 rows in registers); the result must be the walk's to the bit: the same
// value, NaN where the window holds one, and of tied zeros of both signs the first in
// row-major order.
TEMPLATE_TEST_CASE("MaxPool2d over non-overlapping windows gives the row-major walk's bits and gradient", "[pool]", float, double) {
  using T = TestType;
  const T values[] = {-1, T(-0.0), 0, 1, 2};
  struct Case {
    std::int64_t kernel;
    Shape input;
    bool nans = true;  // a NaN every 97 values
  };
  // 8 x 8 planes (ResNet9's last pool; 21 planes: 16, or 8 and 8, reduced together, then 5)
  // and 4-wide ones with two windows down, a leftover row and 5 x 5 windows over 5-wide
  // planes (all whole rows: runs of 64, 16 and 25 values; 4 x 8 planes tile into runs of 16),
  // odd leftovers, rows longer than one chunk of columns, short rows several to a chunk (the
  // backward: 7 rows of 36 columns, then the eighth); 2 x 2 windows (float with AVX-512 or
  // AVX2: the vector forward, rows of 37 and 5 windows); and without NaNs, on AVX-512, even
  // planes narrower than 16 as one stream of row pairs (detail/max_pool_2x2_narrow.hpp; with a
  // NaN the row kernel): every width it takes, in streams that end with a part of a
  // register and with a part of a period of registers (LeNet's 10 x 10: 3 x 5 planes, 75
  // pairs, 94 registers of 16 inputs and a half; 2 x 14: a pair). Run-time windows of 4, 8 and
  // 16 columns (float on AVX-512: on lanes, detail/max_pool_by_columns.hpp) over rows that end
  // inside a register, with NaNs, and 4 x 4 ones over -1, -0 and 0 alone; where they tile the
  // plane, the backward writes every input and the layer does not zero the gradient first.
  for (const Case& c : {Case{8, {3, 7, 8, 8}}, Case{4, {2, 10, 8, 4}}, Case{4, {1, 2, 9, 4}}, Case{5, {2, 2, 11, 5}}, Case{3, {1, 2, 7, 601}}, Case{5, {2, 1, 10, 13}},
                        Case{4, {2, 2, 35, 38}},
                        Case{3, {1, 1, 3, 6}}, Case{2, {2, 3, 7, 75}}, Case{2, {1, 16, 10, 10}}, Case{2, {1, 1, 2, 1250}},
                        Case{2, {3, 5, 10, 10}, false}, Case{2, {1, 1, 2, 14}, false}, Case{2, {2, 3, 4, 2}, false},
                        Case{2, {1, 3, 6, 6}, false}, Case{2, {1, 5, 4, 8}, false}, Case{2, {1, 2, 6, 12}, false},
                        Case{2, {2, 1, 8, 4}, false}, Case{2, {1, 3, 10, 14}, false}, Case{2, {1, 2, 10, 16}, false},
                        Case{2, {1, 8, 16, 8}, false}, Case{8, {1, 3, 17, 70}}, Case{16, {1, 2, 33, 40}},
                        Case{4, {2, 3, 8, 12}, false}, Case{8, {1, 2, 16, 24}}, Case{16, {1, 1, 16, 32}}}) {
    INFO("kernel " << c.kernel << " input " << c.input.to_string());
    Tensor<T> x(c.input);
    for (std::int64_t i = 0; i < x.numel(); ++i)
      x[i] = c.nans && i % 97 == 5 ? std::numeric_limits<T>::quiet_NaN() : values[(i * 7 + i / 3) % 5];
    if (c.input[3] == 1250)  // all 5^4 2 x 2 windows of {-1, -0, 0, 1, NaN}: every tie and zero sign
      for (std::int64_t w = 0; w < 625; ++w)
        for (std::int64_t e = 0, digits = w; e < 4; ++e, digits /= 5) {
          const T v = digits % 5 == 4 ? std::numeric_limits<T>::quiet_NaN() : values[digits % 5];
          x[(e / 2) * 1250 + 2 * w + e % 2] = v;
        }
    if (c.input[2] == 8 && c.input[3] == 12)  // only -1, -0 and 0: windows whose maximum is a zero of either sign
      for (std::int64_t i = 0; i < x.numel(); ++i) x[i] = values[(i * i * 3 + i / 5) % 3];
    if (c.input[2] == 16 && c.input[3] == 8)  // all 4^4 windows of {-1, -0, 0, 1}, 4 a row pair, in a stream
      for (std::int64_t w = 0; w < 256; ++w)
        for (std::int64_t e = 0, digits = w; e < 4; ++e, digits /= 4)
          x[(w / 4) * 16 + (e / 2) * 8 + 2 * (w % 4) + e % 2] = values[digits % 4];
    if (c.input[2] == 3 && c.input[3] == 6)  // two windows whose first zero (row-major) is -0, while by columns +0 comes first
      x = tensor_of<T>(c.input, {-1, T(-0.0), -1, -1, T(-0.0), -1,  //
                                 0, -1, -1, 0, -1, -1,              //
                                 -1, -1, -1, -1, -1, -1});
    MaxPool2d<T> pool(c.kernel);
    Tensor<T> y;
    pool.forward(x.view(), y);
    const std::int64_t H = c.input[2], W = c.input[3], P = H / c.kernel, Q = W / c.kernel;
    REQUIRE(y.shape() == Shape{c.input[0], c.input[1], P, Q});
    std::int64_t differ = 0, zeros = 0;
    for (std::int64_t plane = 0; plane < c.input[0] * c.input[1]; ++plane)
      for (std::int64_t p = 0; p < P; ++p)
        for (std::int64_t q = 0; q < Q; ++q) {
          T m = -std::numeric_limits<T>::infinity();
          bool nan = false;
          for (std::int64_t i = 0; i < c.kernel; ++i)
            for (std::int64_t j = 0; j < c.kernel; ++j) {
              const T v = x[plane * H * W + (p * c.kernel + i) * W + q * c.kernel + j];
              nan |= std::isnan(v);
              if (v > m) m = v;
            }
          const T got = y[(plane * P + p) * Q + q];
          differ += nan ? !std::isnan(got) : (got != m || std::signbit(got) != std::signbit(m));
          zeros += !nan && m == 0;
        }
    CHECK(differ == 0);
    // Backward: each window's gradient goes to its first position equal to the maximum or NaN.
    Tensor<T> g(y.shape());
    for (std::int64_t i = 0; i < g.numel(); ++i) g[i] = i % 5 == 3 ? T(-0.0) : T(i + 1);
    Tensor<T> dx(c.input, T(7));  // every element must be written: the gradient or 0
    pool.backward(x.view(), y.view(), g.view(), &dx, ParamGrads::accumulate);
    Tensor<T> want(c.input, T(0));
    for (std::int64_t plane = 0; plane < c.input[0] * c.input[1]; ++plane)
      for (std::int64_t p = 0; p < P; ++p)
        for (std::int64_t q = 0; q < Q; ++q) {
          const std::int64_t out = (plane * P + p) * Q + q;
          bool found = false;
          for (std::int64_t i = 0; i < c.kernel && !found; ++i)
            for (std::int64_t j = 0; j < c.kernel && !found; ++j) {
              const std::int64_t at = plane * H * W + (p * c.kernel + i) * W + q * c.kernel + j;
              if (x[at] == y[out] || std::isnan(x[at])) {
                want[at] += g[out];
                found = true;
              }
            }
        }
    std::int64_t wrong = 0;
    // -0 and +0 alike: the vector versions write g as it is.
    for (std::int64_t i = 0; i < dx.numel(); ++i) wrong += dx[i] != want[i];
    CHECK(wrong == 0);
    if (c.input[2] == 3 && c.input[3] == 6) {
      CHECK(zeros == 2);
      CHECK(std::signbit(y[0]));
      CHECK(std::signbit(y[1]));
    }
  }
}

TEST_CASE("AvgPool2d and GlobalAvgPool2d match a hand computation", "[pool]") {
  const auto x = tensor_of<double>({1, 1, 4, 4}, plane4x4);
  AvgPool2d<double> pool(2);
  Tensor<double> y, dx;
  pool.forward(x.view(), y);
  REQUIRE(y.shape() == Shape{1, 1, 2, 2});
  CHECK(y[0] == Approx(13.0 / 4));
  CHECK(y[1] == Approx(18.0 / 4));
  CHECK(y[2] == Approx(-10.0 / 4));
  CHECK(y[3] == Approx(14.0 / 4));
  const auto g = tensor_of<double>({1, 1, 2, 2}, {4, 8, 12, 16});
  pool.backward(x.view(), y.view(), g.view(), &dx, ParamGrads::accumulate);
  CHECK(dx[0] == 1);
  CHECK(dx[7] == 2);
  CHECK(dx[12] == 3);
  CHECK(dx[15] == 4);

  GlobalAvgPool2d<double> global;
  const auto x2 = tensor_of<double>({1, 2, 1, 3}, {1, 2, 3, -3, 0, 6});
  global.forward(x2.view(), y);
  REQUIRE(y.shape() == Shape{1, 2});
  CHECK(y[0] == 2);
  CHECK(y[1] == 1);
  const auto g2 = tensor_of<double>({1, 2}, {3, 6});
  global.backward(x2.view(), y.view(), g2.view(), &dx, ParamGrads::accumulate);
  REQUIRE(dx.shape() == x2.shape());
  CHECK(dx[0] == 1);
  CHECK(dx[5] == 2);
}

TEST_CASE("Pooling layers pass gradient checks", "[pool]") {
  struct Case {
    std::int64_t kernel, stride;
    Shape input;
  };
  std::uint32_t salt = 0;
  for (const Case& c : {Case{1, 1, {1, 1, 1, 1}}, Case{2, 2, {1, 1, 4, 4}}, Case{2, 2, {2, 3, 5, 7}},
                        Case{3, 2, {1, 2, 7, 7}}, Case{2, 1, {2, 1, 3, 4}}, Case{3, 3, {3, 2, 6, 5}},
                        Case{4, 4, {2, 3, 9, 4}}}) {  // the last: windows of whole rows
    MaxPool2d<double> max_pool(c.kernel, c.stride);
    AvgPool2d<double> avg_pool(c.kernel, c.stride);
    auto x = random_tensor<double>(c.input, ++salt);
    INFO("kernel " << c.kernel << " stride " << c.stride << " input " << c.input.to_string());
    CHECK(testing::gradcheck(max_pool, x) < 1e-6);
    CHECK(testing::gradcheck(avg_pool, x) < 1e-6);
  }
  GlobalAvgPool2d<double> global;
  for (Shape s : {Shape{1, 1, 1, 1}, Shape{2, 3, 5, 4}}) {
    auto x = random_tensor<double>(s, ++salt);
    CHECK(testing::gradcheck(global, x) < 1e-6);
  }
}

TEST_CASE("Pooling layers reject bad arguments and shapes with messages naming them", "[pool]") {
  using testing::require_error;
  require_error<argument_error>([] { MaxPool2d<float>(2, -1); }, "MaxPool2d: stride must be >= 1, got -1");
  require_error<argument_error>([] { AvgPool2d<float>(0); }, "AvgPool2d: kernel size must be >= 1, got 0");
  MaxPool2d<float> max_pool(3);
  AvgPool2d<float> avg_pool(2);
  GlobalAvgPool2d<float> global;
  Tensor<float> y;
  require_error<shape_error>([&] { max_pool.forward(Tensor<float>({1, 1, 2, 5}).view(), y); }, "[1, 1, 2, 5]");
  require_error<shape_error>([&] { avg_pool.forward(Tensor<float>({4, 4}).view(), y); }, "[4, 4]");
  require_error<shape_error>([&] { avg_pool.forward(Tensor<float>({0, 1, 4, 4}).view(), y); }, "[0, 1, 4, 4]");
  require_error<shape_error>([&] { global.forward(Tensor<float>({2, 3, 0, 4}).view(), y); }, "[2, 3, 0, 4]");
  const Tensor<float> x({1, 2, 4, 4}, 1.0f);
  avg_pool.forward(x.view(), y);
  Tensor<float> dx;
  require_error<shape_error>(
      [&] { avg_pool.backward(x.view(), y.view(), Tensor<float>({1, 2, 4, 4}).view(), &dx, ParamGrads::accumulate); },
      "[1, 2, 2, 2]");
}

TEST_CASE("Pooling layers give the same bits on 1 and 2 threads", "[pool]") {
  const auto x = random_tensor<float>({8, 6, 28, 28}, 5);
  MaxPool2d<float> max_pool(2);
  AvgPool2d<float> avg_pool(3, 2);
  GlobalAvgPool2d<float> global;
  testing::require_thread_invariant(max_pool, x);
  testing::require_thread_invariant(avg_pool, x);
  testing::require_thread_invariant(global, x);
}
