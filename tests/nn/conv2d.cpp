#include "farbound/nn/conv2d.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <limits>

#include "support/gradcheck.hpp"
#include "support/layer_checks.hpp"

using namespace farbound;
using testing::random_tensor;
using testing::tensor_of;

namespace {

// The definition, summed directly: y[n,o,p,q] = b[o] + sum_{c,i,j} W[o,c,i,j] x[n,c,p*s-pad+i,q*s-pad+j].
Tensor<double> direct_conv(const Conv2d<double>& conv, const Tensor<double>& x) {
  const auto& w = conv.window();
  Tensor<double> y(conv.output_shape(x.shape()));
  const std::int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const std::int64_t O = y.size(1), P = y.size(2), Q = y.size(3), k = w.kernel;
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t o = 0; o < O; ++o)
      for (std::int64_t p = 0; p < P; ++p)
        for (std::int64_t q = 0; q < Q; ++q) {
          double s = conv.bias.value[o];
          for (std::int64_t c = 0; c < C; ++c)
            for (std::int64_t i = 0; i < k; ++i)
              for (std::int64_t j = 0; j < k; ++j) {
                const std::int64_t h = p * w.stride - w.padding + i, v = q * w.stride - w.padding + j;
                if (h < 0 || h >= H || v < 0 || v >= W) continue;
                s += conv.weight.value[((o * C + c) * k + i) * k + j] * x[((n * C + c) * H + h) * W + v];
              }
          y[((n * O + o) * P + p) * Q + q] = s;
        }
  return y;
}

// x in double, number for number (the float tests' references run in double).
Tensor<double> widened(const Tensor<float>& x) {
  Tensor<double> xd(x.shape());
  for (std::int64_t i = 0; i < x.numel(); ++i) xd[i] = x[i];
  return xd;
}

// A Conv2d<double> with conv's geometry, weights and bias.
Conv2d<double> widened(const Conv2d<float>& conv) {
  const auto& w = conv.window();
  Conv2d<double> twin(conv.in_channels(), conv.out_channels(), w.kernel, w.stride, w.padding);
  for (std::int64_t i = 0; i < conv.weight.value.numel(); ++i) twin.weight.value[i] = conv.weight.value[i];
  for (std::int64_t i = 0; i < conv.bias.value.numel(); ++i) twin.bias.value[i] = conv.bias.value[i];
  return twin;
}

struct ConvCase {
  std::int64_t n, c, o, k, s, pad, h, w;
};

// Batch 1, odd sizes, 1x1 kernels, stride 2, padding, non-square images, 32+ output
// channels image by image; the two with 64 input channels and at most 36 output positions
// run the whole-batch lowering (Conv2d::lowers_whole_batch).
const ConvCase cases[] = {
    {1, 1, 1, 1, 1, 0, 1, 1}, {1, 1, 2, 3, 1, 0, 5, 5}, {2, 3, 2, 3, 1, 1, 5, 6}, {1, 2, 3, 3, 2, 0, 7, 7},
    {3, 2, 2, 2, 2, 1, 5, 4}, {2, 1, 3, 5, 1, 2, 9, 7}, {2, 3, 4, 1, 2, 0, 5, 3}, {1, 2, 2, 3, 3, 2, 4, 8},
    {1, 6, 32, 3, 2, 1, 5, 5},  // per image, input gradient W^T g packed (54 rows, K = 32)
    // Stride 1 with kernels 2-7: weight gradient with lanes over the output channels, O
    // short of a vector, exactly one, and more than one with a ragged last.
    {1, 2, 6, 5, 1, 0, 8, 7}, {2, 3, 20, 3, 1, 1, 5, 6}, {2, 1, 3, 7, 1, 3, 5, 5}, {1, 2, 9, 4, 1, 1, 6, 6},
    {2, 2, 32, 3, 1, 1, 5, 6}, {3, 1, 33, 3, 1, 0, 6, 5}, {1, 2, 32, 3, 1, 2, 3, 4}, {2, 1, 32, 1, 1, 0, 4, 3},
    {2, 64, 32, 1, 1, 0, 2, 3}, {1, 64, 33, 2, 1, 1, 3, 2},  // whole batch
    // 5-8 output channels, stride 1: on AVX-512 and AVX2 the double forward runs with lanes
    // over them (one and two registers), here in runs of 11 and 10 positions per output row
    // (AVX-512; at most 6 on AVX2).
    {2, 3, 8, 3, 1, 1, 6, 21},
};

}  // namespace

TEST_CASE("Conv2d forward matches a hand computation", "[conv2d]") {
  Conv2d<double> conv(1, 1, 2);
  conv.weight.value = tensor_of<double>({1, 1, 2, 2}, {1, 2, 3, 4});
  conv.bias.value = tensor_of<double>({1}, {0.5});
  const auto x = tensor_of<double>({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  Tensor<double> y;
  conv.forward(x.view(), y);
  REQUIRE(y.shape() == Shape{1, 1, 2, 2});
  CHECK(y[0] == 1 * 1 + 2 * 2 + 3 * 4 + 4 * 5 + 0.5);  // 37.5
  CHECK(y[1] == 1 * 2 + 2 * 3 + 3 * 5 + 4 * 6 + 0.5);  // 47.5
  CHECK(y[2] == 1 * 4 + 2 * 5 + 3 * 7 + 4 * 8 + 0.5);  // 67.5
  CHECK(y[3] == 1 * 5 + 2 * 6 + 3 * 8 + 4 * 9 + 0.5);  // 77.5

  // Padding 1, stride 2: output (3 + 2 - 2) / 2 + 1 = 2; window origins at -1 and 1.
  Conv2d<double> padded(1, 1, 2, 2, 1);
  padded.weight.value = tensor_of<double>({1, 1, 2, 2}, {1, 2, 3, 4});
  padded.forward(x.view(), y);
  REQUIRE(y.shape() == Shape{1, 1, 2, 2});
  CHECK(y[0] == 4 * 1);                  // only x[0,0] under W[1,1]
  CHECK(y[1] == 3 * 2 + 4 * 3);          // x[0,1], x[0,2] under W[1,0], W[1,1]
  CHECK(y[2] == 2 * 4 + 4 * 7);          // x[1,0], x[2,0] under W[0,1], W[1,1]
  CHECK(y[3] == 1 * 5 + 2 * 6 + 3 * 8 + 4 * 9);

  // Backward of the unpadded case with g = 1: dL/dW[i,j] sums the 2x2 block at (i,j); dL/db = 4.
  Tensor<double> dx;
  conv.forward(x.view(), y);
  const Tensor<double> g({1, 1, 2, 2}, 1.0);
  conv.backward(x.view(), y.view(), g.view(), &dx, ParamGrads::accumulate);
  CHECK(conv.weight.grad[0] == 1 + 2 + 4 + 5);
  CHECK(conv.weight.grad[3] == 5 + 6 + 8 + 9);
  CHECK(conv.bias.grad[0] == 4);
  // dL/dx[h,w] sums the weights that touch it: the centre sees all four.
  CHECK(dx[0] == 1);
  CHECK(dx[4] == 1 + 2 + 3 + 4);
  CHECK(dx[8] == 4);
}

TEST_CASE("Conv2d forward matches the direct sum on many geometries", "[conv2d]") {
  std::uint32_t salt = 0;
  for (const ConvCase& c : cases) {
    Conv2d<double> conv(c.c, c.o, c.k, c.s, c.pad);
    conv.reset_parameters(11, salt);
    const auto x = random_tensor<double>({c.n, c.c, c.h, c.w}, ++salt);
    Tensor<double> y;
    conv.forward(x.view(), y);
    const auto expected = direct_conv(conv, x);
    INFO(conv.describe() << " on " << x.shape().to_string());
    REQUIRE(y.shape() == expected.shape());
    // Relative to 1 as well: an output that cancels to near zero keeps the terms' rounding.
    for (std::int64_t i = 0; i < y.numel(); ++i) REQUIRE(y[i] == Approx(expected[i]).epsilon(1e-12).margin(1e-13));
  }
}

TEST_CASE("Conv2d passes gradient checks", "[conv2d]") {
  std::uint32_t salt = 100;
  for (const ConvCase& c : cases) {
    Conv2d<double> conv(c.c, c.o, c.k, c.s, c.pad);
    conv.reset_parameters(12, salt);
    auto x = random_tensor<double>({c.n, c.c, c.h, c.w}, ++salt);
    INFO(conv.describe() << " on " << x.shape().to_string());
    CHECK(testing::gradcheck(conv, x) < 1e-6);
  }
}

TEST_CASE("Conv2d's whole-batch input gradient passes a gradient check at every padding", "[conv2d]") {
  // Parameter gradients of the whole-batch lowering are checked above (smaller kernels). A
  // 4 x 4 kernel with 64 input channels on images small enough for at most 36 outputs.
  for (std::int64_t pad : {0, 1, 2, 3}) {
    Conv2d<double> conv(64, 32, 4, 1, pad);
    conv.reset_parameters(13, std::uint32_t(pad));
    const std::int64_t side = std::max<std::int64_t>(1, 4 - 2 * pad);
    auto x = random_tensor<double>({2, 64, side, side}, 40 + std::uint32_t(pad));
    INFO("padding " << pad);
    CHECK(testing::gradcheck(conv, x, {.check_params = false}) < 1e-6);
  }
}

// dL/dW[o,c,i,j] = sum_{n,p,q} g[n,o,p,q] x[n,c,p-pad+i,q-pad+j] (stride 1), summed directly.
Tensor<double> direct_weight_grad(const Conv2d<double>& conv, const Tensor<double>& x, const Tensor<double>& g) {
  const std::int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const std::int64_t O = g.size(1), P = g.size(2), Q = g.size(3), k = conv.window().kernel, pad = conv.window().padding;
  Tensor<double> dw({O, C, k, k}, 0.0);
  for (std::int64_t o = 0; o < O; ++o)
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t i = 0; i < k; ++i)
        for (std::int64_t j = 0; j < k; ++j) {
          double s = 0;
          for (std::int64_t n = 0; n < N; ++n)
            for (std::int64_t p = 0; p < P; ++p)
              for (std::int64_t q = 0; q < Q; ++q) {
                const std::int64_t h = p - pad + i, v = q - pad + j;
                if (h >= 0 && h < H && v >= 0 && v < W) s += g[((n * O + o) * P + p) * Q + q] * x[((n * C + c) * H + h) * W + v];
              }
          dw[((o * C + c) * k + i) * k + j] = s;
        }
  return dw;
}

// dL/dx[n,c,h,w] = sum_{o,i,j} g[n,o,(h+pad-i)/s,(w+pad-j)/s] W[o,c,i,j], over the terms
// whose output position is whole and inside.
Tensor<double> direct_input_grad(const Conv2d<double>& conv, const Tensor<double>& g, const Shape& input) {
  const std::int64_t N = input[0], C = input[1], H = input[2], W = input[3];
  const std::int64_t O = g.size(1), P = g.size(2), Q = g.size(3), k = conv.window().kernel;
  const std::int64_t s = conv.window().stride, pad = conv.window().padding;
  Tensor<double> dx(input, 0.0);
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t h = 0; h < H; ++h)
        for (std::int64_t w = 0; w < W; ++w) {
          double sum = 0;
          for (std::int64_t o = 0; o < O; ++o)
            for (std::int64_t i = 0; i < k; ++i)
              for (std::int64_t j = 0; j < k; ++j) {
                const std::int64_t ps = h + pad - i, qs = w + pad - j;
                if (ps < 0 || qs < 0 || ps % s || qs % s || ps / s >= P || qs / s >= Q) continue;
                sum += g[((n * O + o) * P + ps / s) * Q + qs / s] * conv.weight.value[((o * C + c) * k + i) * k + j];
              }
          dx[((n * C + c) * H + h) * W + w] = sum;
        }
  return dx;
}

// y, dL/dw and dL/dx of conv's weights at input x and output gradient g, each within 1e-12
// of the direct sums.
void require_direct_sums(const Conv2d<double>& conv, const Tensor<double>& x, const Tensor<double>& g,
                         const Tensor<double>& y, const Tensor<double>& dw, const Tensor<double>& dx) {
  const auto expected = direct_conv(conv, x);
  REQUIRE(y.shape() == expected.shape());
  for (std::int64_t i = 0; i < y.numel(); ++i) REQUIRE(y[i] == Approx(expected[i]).margin(1e-12));
  const auto expected_dw = direct_weight_grad(conv, x, g);
  for (std::int64_t i = 0; i < dw.numel(); ++i) REQUIRE(dw[i] == Approx(expected_dw[i]).margin(1e-12));
  const auto expected_dx = direct_input_grad(conv, g, x.shape());
  for (std::int64_t i = 0; i < dx.numel(); ++i) REQUIRE(dx[i] == Approx(expected_dx[i]).margin(1e-12));
}

TEST_CASE("Conv2d's Winograd lowering (3x3, stride 1, 128 -> 512 channels) matches the direct sums", "[conv2d]") {
  // Odd output sizes leave half tiles at the right and bottom edges; padding 0 .. 2.
  for (std::int64_t pad : {0, 1, 2}) {
    Conv2d<double> conv(128, 512, 3, 1, pad);
    conv.reset_parameters(14, std::uint32_t(pad));
    const auto x = random_tensor<double>({2, 128, 5, 6}, 50 + std::uint32_t(pad));
    Tensor<double> y, dx;
    conv.forward(x.view(), y);
    INFO("padding " << pad);
    const auto g = random_tensor<double>(y.shape(), 60 + std::uint32_t(pad));
    conv.weight.grad.zero();
    conv.backward(x.view(), y.view(), g.view(), &dx, ParamGrads::accumulate);
    require_direct_sums(conv, x, g, y, conv.weight.grad, dx);
  }
}

TEST_CASE("Conv2d<float>'s Winograd lowering with transformed weights past the caches matches the direct sums",
          "[conv2d]") {
  // 128 -> 512 channels: U = G w G^T holds 9.4 MB, which F(4x4, 3x3) writes with non-temporal
  // stores on AVX-512 (winograd_f4.hpp, streams_weights). Twice, with other weights the
  // second time, so that the second U replaces the first.
  Conv2d<float> conv(128, 512, 3, 1, 1);
  const auto x = random_tensor<float>({2, 128, 4, 4}, 90);
  for (std::uint32_t round = 0; round < 2; ++round) {
    conv.reset_parameters(15, round);
    Tensor<float> y, dx;
    conv.forward(x.view(), y);
    const auto g = random_tensor<float>(y.shape(), 91 + round);
    conv.backward(x.view(), y.view(), g.view(), &dx, ParamGrads::skip);
    const auto expected_y = direct_conv(widened(conv), widened(x));
    const auto expected_dx = direct_input_grad(widened(conv), widened(g), x.shape());
    INFO("round " << round);
    REQUIRE(y.shape() == expected_y.shape());
    for (std::int64_t i = 0; i < y.numel(); ++i) REQUIRE(y[i] == Approx(expected_y[i]).margin(1e-4));
    for (std::int64_t i = 0; i < dx.numel(); ++i) REQUIRE(dx[i] == Approx(expected_dx[i]).margin(1e-4));
  }
}

namespace {
// detail/winograd.hpp as a layer of any width: Conv2d picks it for wide layers only (1/C + 1/O
// <= 1/21, from 32 -> 64 channels on), and a gradient check of every weight of such a layer
// would take minutes.
class WinogradConv final : public Layer<double> {
 public:
  Parameter<double> weight{"weight", {3, 2, 3, 3}};
  std::int64_t padding, tile;

  WinogradConv(std::int64_t pad, std::int64_t tile_size) : padding(pad), tile(tile_size) {
    testing::fill_uniform(weight.value.view(), 80 + std::uint32_t(pad));
  }
  std::string describe() const override {
    return "Winograd F(" + std::to_string(tile) + "x" + std::to_string(tile) + ", 3x3), 2 -> 3 channels";
  }
  Shape output_shape(const Shape& s) const override { return {s[0], 3, s[2] + 2 * padding - 2, s[3] + 2 * padding - 2}; }
  void forward(TensorView<const double> in, Tensor<double>& out) override {
    out.resize(output_shape(in.shape()));
    const double zero_bias[3] = {};
    detail::winograd_forward(geometry(in.shape()), in.data(), weight.value.data(), zero_bias, 3, out.data(), ws_);
  }
  void backward(TensorView<const double> in, TensorView<const double>, TensorView<const double> grad_out,
                Tensor<double>* grad_in, ParamGrads) override {
    if (grad_in) grad_in->resize(in.shape());
    detail::winograd_backward(geometry(in.shape()), in.data(), weight.value.data(), grad_out.data(), 3,
                              weight.grad.data(), grad_in ? grad_in->data() : nullptr, ws_);
  }
  void collect_parameters(std::vector<Parameter<double>*>& ps) override { ps.push_back(&weight); }

 private:
  detail::WinogradGeometry geometry(const Shape& s) const {
    return {{s[0], s[1], s[2], s[3], 3, padding, s[2] + 2 * padding - 2, s[3] + 2 * padding - 2}, tile};
  }
  detail::WinogradWorkspace<double> ws_;
};
}  // namespace

TEST_CASE("Conv2d's Winograd backward reuses its forward's transformed input for that input only", "[conv2d]") {
  // The forward keeps V = B^T x B (and U = G w G^T) for the backward. A backward on another
  // input, or a second backward after the first overwrote V with dL/dV, must transform x again.
  Conv2d<float> conv(64, 64, 3, 1, 1);
  conv.reset_parameters(3, 0);
  const auto x1 = random_tensor<float>({2, 64, 6, 7}, 91), x2 = random_tensor<float>({2, 64, 6, 7}, 92);
  Tensor<float> y, dx;
  conv.forward(x2.view(), y);
  const auto g = random_tensor<float>(y.shape(), 93);
  const auto gradients = [&](const Tensor<float>& x, bool input_grad) {
    conv.weight.grad.zero();
    conv.backward(x.view(), y.view(), g.view(), input_grad ? &dx : nullptr, ParamGrads::accumulate);
    return conv.weight.grad.clone();
  };
  const Tensor<float> expected = gradients(x2, true);  // V from the forward, then dL/dV
  const Tensor<float> expected_dx = dx.clone();
  CHECK(testing::bitwise_equal(gradients(x2, true), expected));  // V made again
  CHECK(testing::bitwise_equal(dx, expected_dx));
  conv.forward(x1.view(), y);
  CHECK(testing::bitwise_equal(gradients(x2, false), expected));  // V of x1 kept, x2 transformed
  conv.forward(x2.view(), y);
  CHECK(testing::bitwise_equal(gradients(x2, false), expected));  // V kept (no dL/dV asked)
  CHECK(testing::bitwise_equal(gradients(x2, false), expected));
#ifndef NDEBUG
  // Debug builds (the sanitizer run) check the contract: an input changed in place after
  // its forward is caught, not differentiated at the old numbers.
  Tensor<float> x3 = x2.clone();
  conv.forward(x3.view(), y);
  x3[0] += 1;
  CHECK_THROWS_AS(gradients(x3, false), argument_error);
  // The same for the transformed weights, which the input gradient reuses.
  conv.forward(x2.view(), y);
  conv.weight.value[0] += 1;
  CHECK_THROWS_AS(gradients(x2, true), argument_error);
#endif
}

TEST_CASE("Winograd F(2x2, 3x3) and F(4x4, 3x3) pass gradient checks", "[conv2d]") {
  // Even and odd output sizes (part tiles at the edges), padding 0 .. 2. F(2x2): 37 columns
  // make two strips of tiles (16 + 2 or 3). F(4x4): 5 items of 6 x 6 run in blocks of 4 items
  // and 1, 68 or 70 columns in strips of 16 + 1 or 2 tiles of one item.
  for (const std::int64_t tile : {2, 4})
    for (const Shape& shape : {Shape{2, 2, 5, 6}, Shape{1, 2, 4, 37}, Shape{5, 2, 6, 6}, Shape{1, 2, 3, 70}})
      for (std::int64_t pad : {0, 1, 2}) {
        WinogradConv conv(pad, tile);
        auto x = random_tensor<double>(shape, 70 + std::uint32_t(pad));
        INFO(conv.describe() << ", padding " << pad << ", input " << shape.to_string());
        CHECK(testing::gradcheck(conv, x) < 1e-6);
      }
}

TEST_CASE("Winograd F(2x2, 3x3) and F(4x4, 3x3) match the direct sums", "[conv2d]") {
  // Whichever variant Conv2d would pick: 7 items of 5 x 5, padding 0 .. 2, so outputs of 3 x
  // 3 to 7 x 7 with part tiles of both; F(4x4) runs blocks of 7 items, then of 4 + 3.
  for (const std::int64_t tile : {2, 4})
    for (std::int64_t pad : {0, 1, 2}) {
      Conv2d<double> conv(40, 24, 3, 1, pad);
      conv.reset_parameters(15, std::uint32_t(pad));
      const auto x = random_tensor<double>({7, 40, 5, 5}, 55 + std::uint32_t(pad));
      const std::int64_t P = 3 + 2 * pad, Q = P;
      const detail::WinogradGeometry wg{{7, 40, 5, 5, 3, pad, P, Q}, tile};
      detail::WinogradWorkspace<double> ws;
      Tensor<double> y({7, 24, P, Q}), dx(x.shape()), dw(conv.weight.value.shape());
      detail::winograd_forward(wg, x.data(), conv.weight.value.data(), conv.bias.value.data(), 24, y.data(), ws);
      INFO("F(" << tile << "x" << tile << ", 3x3), padding " << pad);
      const auto g = random_tensor<double>(y.shape(), 65 + std::uint32_t(pad));
      dw.zero();
      detail::winograd_backward(wg, x.data(), conv.weight.value.data(), g.data(), 24, dw.data(), dx.data(), ws);
      require_direct_sums(conv, x, g, y, dw, dx);
    }
}

TEST_CASE("Conv2d<float>'s weight gradient with lanes over the output channels matches the direct sum", "[conv2d]") {
  // The float path transposes g by 8 x 8 blocks in registers (AVX); double never does.
  struct Case {
    std::int64_t n, c, o, k, pad, h, w;
  };
  std::uint32_t salt = 300;
  // 70 items: more than the 32 partial gradients, so 3 items share each and the last has 1.
  for (const Case& c : {Case{2, 1, 6, 5, 0, 32, 32}, Case{3, 6, 16, 5, 0, 14, 14}, Case{2, 3, 20, 3, 1, 9, 7},
                        Case{1, 2, 9, 4, 1, 7, 11}, Case{70, 6, 16, 5, 0, 14, 14}}) {
    Conv2d<float> conv(c.c, c.o, c.k, 1, c.pad);
    conv.reset_parameters(5, salt);
    const auto x = random_tensor<float>({c.n, c.c, c.h, c.w}, ++salt);
    Tensor<float> y;
    conv.forward(x.view(), y);
    const auto g = random_tensor<float>(y.shape(), ++salt);
    conv.backward(x.view(), y.view(), g.view(), nullptr, ParamGrads::accumulate);
    const auto expected = direct_weight_grad(widened(conv), widened(x), widened(g));
    INFO(conv.describe() << " on " << x.shape().to_string());
    for (std::int64_t i = 0; i < expected.numel(); ++i) REQUIRE(conv.weight.grad[i] == Approx(expected[i]).margin(1e-4));
  }
}

TEST_CASE("Conv2d<float>'s forward with lanes over the output channels matches the direct sum", "[conv2d]") {
  // 9-16 output channels fill one AVX-512 register or two AVX2 ones (elsewhere these run the
  // GEMM): LeNet's conv2, output rows in runs of 13, 13 and 11 positions (AVX-512; at most 6
  // on AVX2), padding, and a 7 x 7 kernel.
  struct Case {
    std::int64_t n, c, o, k, pad, h, w;
  };
  std::uint32_t salt = 500;
  for (const Case& c : {Case{3, 6, 16, 5, 0, 14, 14}, Case{2, 3, 9, 3, 1, 20, 37}, Case{1, 2, 12, 7, 3, 9, 5},
                        Case{2, 1, 16, 2, 0, 6, 19}}) {
    Conv2d<float> conv(c.c, c.o, c.k, 1, c.pad);
    conv.reset_parameters(6, salt);
    const auto x = random_tensor<float>({c.n, c.c, c.h, c.w}, ++salt);
    Tensor<float> y;
    conv.forward(x.view(), y);
    const auto expected = direct_conv(widened(conv), widened(x));
    INFO(conv.describe() << " on " << x.shape().to_string());
    REQUIRE(y.shape() == expected.shape());
    for (std::int64_t i = 0; i < y.numel(); ++i) REQUIRE(y[i] == Approx(expected[i]).margin(1e-5));
  }
}

TEST_CASE("Conv2d<float>'s input gradient matches the direct sum", "[conv2d]") {
  // Stride 1 gathers dcol's rows with masked vectors of 16 floats (AVX-512) or 8: images
  // narrower than one, exactly one (16 wide, and 32 with padding 2 on 28), ragged over two;
  // LeNet's conv2; padding up to k-1; 1x1 and 7x7 kernels. Stride 2 runs col2im. Up to 8
  // output channels run the direct correlation (detail/conv_input_grad_direct.hpp): LeNet's
  // conv1, rows of whole and ragged vectors, wider than one column block (70), fewer rows
  // than a register tile (2).
  struct Case {
    std::int64_t n, c, o, k, s, pad, h, w;
  };
  std::uint32_t salt = 400;
  for (const Case& c : {Case{3, 6, 16, 5, 1, 0, 14, 14}, Case{2, 1, 6, 5, 1, 2, 28, 28}, Case{2, 2, 3, 3, 1, 1, 16, 16},
                        Case{1, 3, 5, 7, 1, 3, 9, 37}, Case{2, 4, 3, 1, 1, 0, 5, 19}, Case{1, 2, 4, 2, 1, 1, 3, 5},
                        Case{1, 2, 3, 4, 1, 3, 6, 17}, Case{2, 3, 4, 3, 2, 1, 9, 11}, Case{2, 1, 6, 5, 1, 0, 32, 32},
                        Case{1, 2, 8, 3, 1, 2, 2, 70}}) {
    Conv2d<float> conv(c.c, c.o, c.k, c.s, c.pad);
    conv.reset_parameters(6, salt);
    const auto x = random_tensor<float>({c.n, c.c, c.h, c.w}, ++salt);
    Tensor<float> y, dx;
    conv.forward(x.view(), y);
    const auto g = random_tensor<float>(y.shape(), ++salt);
    conv.backward(x.view(), y.view(), g.view(), &dx, ParamGrads::skip);
    const auto expected = direct_input_grad(widened(conv), widened(g), x.shape());
    INFO(conv.describe() << " on " << x.shape().to_string());
    REQUIRE(dx.shape() == expected.shape());
    for (std::int64_t i = 0; i < expected.numel(); ++i) REQUIRE(dx[i] == Approx(expected[i]).margin(1e-4));
  }
}

TEST_CASE("Conv2d<float>'s direct input gradient keeps its workspaces right from pass to pass", "[conv2d]") {
  // The zero-padded g is zeroed only when the geometry changes: its margins must stay zero
  // through passes of the same size, and be zeroed again after one of another size.
  Conv2d<float> conv(2, 6, 5, 1, 2);
  conv.reset_parameters(6, 470);
  std::uint32_t salt = 471;
  for (std::int64_t size : {28, 28, 12, 28}) {
    const auto x = random_tensor<float>({2, 2, size, size}, ++salt);
    Tensor<float> y, dx;
    conv.forward(x.view(), y);
    const auto g = random_tensor<float>(y.shape(), ++salt);
    conv.backward(x.view(), y.view(), g.view(), &dx, ParamGrads::skip);
    const auto expected = direct_input_grad(widened(conv), widened(g), x.shape());
    INFO("images of " << size << " x " << size);
    for (std::int64_t i = 0; i < expected.numel(); ++i) REQUIRE(dx[i] == Approx(expected[i]).margin(1e-4));
  }
}

TEST_CASE("Conv2d without an input gradient gives the same parameter gradients", "[conv2d]") {
  Conv2d<double> conv(3, 4, 3, 2, 1);
  conv.reset_parameters(3, 0);
  const auto x = random_tensor<double>({3, 3, 7, 6}, 1);
  Tensor<double> y, dx;
  conv.forward(x.view(), y);
  const auto g = random_tensor<double>(y.shape(), 2);
  conv.backward(x.view(), y.view(), g.view(), &dx, ParamGrads::accumulate);
  const Tensor<double> dw = conv.weight.grad.clone(), db = conv.bias.grad.clone();
  conv.weight.grad.zero();
  conv.bias.grad.zero();
  conv.backward(x.view(), y.view(), g.view(), nullptr, ParamGrads::accumulate);
  for (std::int64_t i = 0; i < dw.numel(); ++i) REQUIRE(conv.weight.grad[i] == dw[i]);
  for (std::int64_t i = 0; i < db.numel(); ++i) REQUIRE(conv.bias.grad[i] == db[i]);
  // ParamGrads::skip: input gradient only.
  Tensor<double> dx2;
  conv.backward(x.view(), y.view(), g.view(), &dx2, ParamGrads::skip);
  for (std::int64_t i = 0; i < dx.numel(); ++i) REQUIRE(dx2[i] == dx[i]);
  CHECK(conv.weight.grad[0] == dw[0]);
}

// The lowerings write every element of an item's input gradient (shifted rows by a gather,
// im2col into a zeroed item), so a reused gradient tensor holding anything gives the same.
TEST_CASE("Conv2d's input gradient does not depend on what the gradient tensor held", "[conv2d]") {
  struct Geometry {
    std::int64_t in, out, kernel, stride, padding;
  };
  for (const Geometry geo : {Geometry{6, 16, 5, 1, 0}, Geometry{1, 6, 5, 1, 2}, Geometry{3, 4, 3, 2, 1}}) {
    INFO("in " << geo.in << " out " << geo.out << " kernel " << geo.kernel << " stride " << geo.stride);
    Conv2d<float> conv(geo.in, geo.out, geo.kernel, geo.stride, geo.padding);
    conv.reset_parameters(5, 0);
    const auto x = random_tensor<float>({3, geo.in, 14, 13}, 3);
    Tensor<float> y, fresh, reused({3, geo.in, 14, 13}, std::numeric_limits<float>::quiet_NaN());
    conv.forward(x.view(), y);
    const auto g = random_tensor<float>(y.shape(), 4);
    conv.backward(x.view(), y.view(), g.view(), &fresh, ParamGrads::skip);
    conv.backward(x.view(), y.view(), g.view(), &reused, ParamGrads::skip);
    REQUIRE(fresh.shape() == reused.shape());
    for (std::int64_t i = 0; i < fresh.numel(); ++i) REQUIRE(std::memcmp(&fresh[i], &reused[i], sizeof(float)) == 0);
  }
}

TEST_CASE("Conv2d rejects bad arguments and shapes with messages naming them", "[conv2d]") {
  using testing::require_error;
  require_error<argument_error>([] { Conv2d<float>(1, 6, 5, -1); }, "stride must be >= 1, got -1");
  require_error<argument_error>([] { Conv2d<float>(1, 6, 5, 0); }, "got 0");
  require_error<argument_error>([] { Conv2d<float>(1, 6, 0); }, "kernel size must be >= 1, got 0");
  require_error<argument_error>([] { Conv2d<float>(1, 6, 3, 1, -2); }, "padding must be >= 0, got -2");
  require_error<argument_error>([] { Conv2d<float>(0, 6, 3); }, "in 0");

  Conv2d<float> conv(3, 4, 3);
  Tensor<float> y;
  require_error<shape_error>([&] { conv.forward(Tensor<float>({2, 2, 8, 8}).view(), y); }, "[2, 2, 8, 8]");
  require_error<shape_error>([&] { conv.forward(Tensor<float>({2, 2, 8, 8}).view(), y); }, "[N >= 1, 3, H, W]");
  require_error<shape_error>([&] { conv.forward(Tensor<float>({3, 8, 8}).view(), y); }, "[3, 8, 8]");
  require_error<shape_error>([&] { conv.forward(Tensor<float>({0, 3, 8, 8}).view(), y); }, "[0, 3, 8, 8]");
  require_error<shape_error>([&] { conv.forward(Tensor<float>({1, 3, 2, 8}).view(), y); }, "[1, 3, 2, 8]");

  const Tensor<float> x({2, 3, 5, 5}, 0.5f);
  conv.forward(x.view(), y);
  Tensor<float> dx;
  require_error<shape_error>(
      [&] { conv.backward(x.view(), y.view(), Tensor<float>({2, 4, 2, 3}).view(), &dx, ParamGrads::accumulate); },
      "[2, 4, 2, 3]");
}

TEST_CASE("Conv2d gives the same bits on 1 and 2 threads", "[conv2d]") {
  Conv2d<float> lenet2(6, 16, 5);
  lenet2.reset_parameters(1, 2);
  testing::require_thread_invariant(lenet2, random_tensor<float>({8, 6, 14, 14}, 1));
  testing::require_thread_invariant(lenet2, random_tensor<float>({1, 6, 14, 14}, 2));
  testing::require_thread_invariant(lenet2, random_tensor<float>({70, 6, 14, 14}, 7));  // shared partials
  Conv2d<float> strided(3, 5, 3, 2, 1);
  strided.reset_parameters(1, 3);
  testing::require_thread_invariant(strided, random_tensor<float>({5, 3, 9, 8}, 3));
  // Wide enough that several items share one partial-gradient chunk, with a short last chunk.
  Conv2d<float> wide(128, 128, 3, 2);
  wide.reset_parameters(1, 4);
  testing::require_thread_invariant(wide, random_tensor<float>({31, 128, 3, 3}, 4));
  // The whole-batch lowering: columns split between the threads, tiles across items.
  Conv2d<float> batch_lowered(64, 40, 2, 1, 1);
  batch_lowered.reset_parameters(1, 5);
  testing::require_thread_invariant(batch_lowered, random_tensor<float>({5, 64, 4, 5}, 5));
  // Winograd: the 16 products shared between the threads, overlapping patches added back.
  Conv2d<float> winograd(128, 512, 3, 1, 1);
  winograd.reset_parameters(1, 6);
  testing::require_thread_invariant(winograd, random_tensor<float>({3, 128, 7, 5}, 6));
}
