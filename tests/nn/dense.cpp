#include "farbound/nn/dense.hpp"

#include <catch2/catch.hpp>

#include "support/gradcheck.hpp"
#include "support/layer_checks.hpp"

using namespace farbound;
using testing::random_tensor;
using testing::tensor_of;

TEST_CASE("Dense forward and backward match a hand computation", "[dense]") {
  Dense<double> d(3, 2);
  d.weight.value = tensor_of<double>({2, 3}, {1, 2, 3, 4, 5, 6});
  d.bias.value = tensor_of<double>({2}, {0.5, -1});
  const auto x = tensor_of<double>({2, 3}, {1, 0, -1, 2, 1, 0});
  Tensor<double> y;
  d.forward(x.view(), y);
  REQUIRE(y.shape() == Shape{2, 2});
  // y = x W^T + b
  CHECK(y[0] == -1.5);
  CHECK(y[1] == -3.0);
  CHECK(y[2] == 4.5);
  CHECK(y[3] == 12.0);

  const auto g = tensor_of<double>({2, 2}, {1, 0, 1, 2});
  Tensor<double> dx;
  d.backward(x.view(), y.view(), g.view(), &dx, ParamGrads::accumulate);
  // dW = g^T x, db = column sums of g, dx = g W
  CHECK(d.weight.grad[0] == 3.0);  // 1*1 + 1*2
  CHECK(d.weight.grad[1] == 1.0);  // 1*0 + 1*1
  CHECK(d.weight.grad[2] == -1.0);
  CHECK(d.weight.grad[3] == 4.0);  // 0*1 + 2*2
  CHECK(d.weight.grad[4] == 2.0);
  CHECK(d.weight.grad[5] == 0.0);
  CHECK(d.bias.grad[0] == 2.0);
  CHECK(d.bias.grad[1] == 2.0);
  CHECK(dx[0] == 1.0);   // row 0 of W
  CHECK(dx[2] == 3.0);
  CHECK(dx[3] == 9.0);   // 1*1 + 2*4
  CHECK(dx[5] == 15.0);  // 1*3 + 2*6

  // Gradients accumulate; ParamGrads::skip leaves them alone; a null grad_in is allowed.
  d.backward(x.view(), y.view(), g.view(), nullptr, ParamGrads::accumulate);
  CHECK(d.weight.grad[0] == 6.0);
  d.backward(x.view(), y.view(), g.view(), &dx, ParamGrads::skip);
  CHECK(d.weight.grad[0] == 6.0);
  CHECK(d.bias.grad[1] == 4.0);
}

TEST_CASE("Dense passes gradient checks", "[dense]") {
  struct Case {
    Shape input;
    std::int64_t in, out;
  };
  for (const Case& c : {Case{{1, 1}, 1, 1}, Case{{1, 5}, 5, 3}, Case{{3, 7}, 7, 4}, Case{{4, 2, 3, 2}, 12, 5},
                        Case{{2, 3, 1}, 3, 1}}) {
    Dense<double> d(c.in, c.out);
    d.reset_parameters(1, 0);
    auto x = random_tensor<double>(c.input, 3);
    INFO(d.describe() << " on " << c.input.to_string());
    CHECK(testing::gradcheck(d, x) < 1e-6);
  }
}

TEST_CASE("Dense reads [N, ...] inputs flattened", "[dense]") {
  Dense<double> d(6, 2), flat(6, 2);
  d.reset_parameters(5, 1);
  flat.reset_parameters(5, 1);
  const auto x4 = random_tensor<double>({2, 2, 1, 3}, 1);
  Tensor<double> y4, y2;
  d.forward(x4.view(), y4);
  flat.forward(x4.view().reshaped({2, 6}), y2);
  REQUIRE(y4.shape() == Shape{2, 2});
  for (std::int64_t i = 0; i < 4; ++i) CHECK(y4[i] == y2[i]);
  Tensor<double> dx;
  d.backward(x4.view(), y4.view(), y4.view(), &dx, ParamGrads::skip);
  CHECK(dx.shape() == x4.shape());
}

TEST_CASE("Dense rejects bad shapes and arguments with messages naming them", "[dense]") {
  using testing::require_error;
  require_error<argument_error>([] { Dense<float>(0, 3); }, "in 0");
  require_error<argument_error>([] { Dense<float>(3, -2); }, "out -2");
  Dense<float> d(4, 3);
  Tensor<float> y;
  require_error<shape_error>([&] { d.forward(Tensor<float>({2, 5}).view(), y); }, "[2, 5]");
  require_error<shape_error>([&] { d.forward(Tensor<float>({4}).view(), y); }, "[4]");
  require_error<shape_error>([&] { d.forward(Tensor<float>({0, 4}).view(), y); }, "[0, 4]");
  const Tensor<float> x({2, 4}, 1.0f);
  d.forward(x.view(), y);
  Tensor<float> dx;
  require_error<shape_error>([&] { d.backward(x.view(), y.view(), Tensor<float>({2, 4}).view(), &dx, ParamGrads::accumulate); },
                             "[2, 4]");
  require_error<shape_error>([&] { d.backward(x.view(), y.view(), Tensor<float>({3, 3}).view(), &dx, ParamGrads::accumulate); },
                             "[2, 3]");
}

TEST_CASE("Dense gives the same bits on 1 and 2 threads", "[dense]") {
  // Large enough for Eigen to split its products over threads.
  Dense<float> big(400, 120);
  big.reset_parameters(2, 0);
  testing::require_thread_invariant(big, random_tensor<float>({64, 400}, 8));
  Dense<float> small(7, 3);
  small.reset_parameters(2, 1);
  testing::require_thread_invariant(small, random_tensor<float>({1, 7}, 9));
}

TEST_CASE("Dense<float> forward matches the direct sum, and an item's outputs do not depend on the batch", "[dense]") {
  // Batches of up to 8 transpose W's rows in registers (16 x 16 blocks on AVX-512), larger
  // ones copy W^T by 8 x 8 register blocks (AVX) with element-by-element edges: sizes on and
  // off multiples of 8 and 16. Both sum every element in one fixed order, so batches of 1,
  // 2, 8, 9 and 64 give an item the same bits.
  std::uint32_t salt = 20;
  for (auto [in, out] : {std::pair<std::int64_t, std::int64_t>{400, 120}, {13, 21}, {84, 10}, {8, 8}, {33, 17}}) {
    Dense<float> d(in, out);
    d.reset_parameters(3, salt);
    const auto x = random_tensor<float>({64, in}, ++salt);
    Tensor<float> y;
    d.forward(x.view(), y);
    INFO(d.describe());
    for (std::int64_t n = 0; n < 64; ++n)
      for (std::int64_t o = 0; o < out; ++o) {
        double expected = d.bias.value[o];
        for (std::int64_t i = 0; i < in; ++i) expected += double(d.weight.value[o * in + i]) * double(x[n * in + i]);
        REQUIRE(y[n * out + o] == Approx(expected).margin(1e-4));
      }
    for (auto [first, count] : {std::pair<std::int64_t, std::int64_t>{5, 1}, {3, 2}, {10, 8}, {20, 9}}) {
      Tensor<float> part;
      d.forward(x.view().slice(first, count), part);
      INFO("rows " << first << " .. " << first + count - 1);
      for (std::int64_t i = 0; i < count * out; ++i) REQUIRE(part[i] == y[first * out + i]);
    }
  }
}
