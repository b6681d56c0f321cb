#include "farbound/nn/instance_norm.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "farbound/core/parallel.hpp"
#include "support/gradcheck.hpp"

using namespace farbound;
using farbound::testing::close;
using farbound::testing::fill_uniform;
using farbound::testing::gradcheck;

namespace {

// Produced with torch 1.13 (float64): N, C, H, W = 2, 3, 2, 3;
// x[i] = sin(0.7 i) (1 + 0.1 i), dy[i] = cos(0.3 i) over the flattened tensor;
// m = nn.InstanceNorm2d(3, affine=True, eps=1e-5) with weight [1.5, -0.5, 2.0],
// bias [0.25, 0.0, -1.0]; y = m(x); dx, dw, db = torch.autograd.grad(y, [x, m.weight, m.bias], dy).
const std::vector<double> torch_y = {
    -0.9704217798529645,  0.7849075568994266,   1.9587780659499354,  1.8092452651849757,  0.19126958728857493,
    -2.2737786954699466,  0.4478703423106308,   0.5454985897132303,  0.3564072244228358,  -0.05735165261907953,
    -0.5114160207095721,  -0.7810084831180452,  2.331469402103871,   0.8959680245123955,  -1.1247654226390509,
    -2.7775575648129838,  -3.2116712502551206,  -2.1134431889091103, -0.898730491596516,  0.9812189647666001,
    2.0293197045726594,   1.673186075250439,    -0.007565134297770056, -2.277429118695412, 0.48276392361177173,
    0.5539772766569678,   0.3320126354858322,   -0.09207128038386682, -0.5234988733729188, -0.7531836819977863,
    2.406982231218423,    0.8236428258933888,   -1.253694511753726,  -2.8442329764296224, -3.1555489889616184,
    -1.9771485799668442};
const std::vector<double> torch_dx = {
    1.2228959887040047,    0.6386996379865089,    -1.1550620842244892e-05, -0.46430660007311736, -0.6699781808373807,
    -0.7272992951591724,   -0.10346089405872934,  0.010766485185462396,   0.062348547677938,    0.05402910679930046,
    0.010545949083697003,  -0.0342291946876686,   0.05446213266841487,    -0.07186206477988474, -0.2556955725358617,
    -0.29746551517432174,  -0.02677966427993559,  0.5973406841015891,     -0.1741039269091404,  -0.07065598413379916,
    0.0012052337359072214, 0.060545974833362555,  0.099520787792837,      0.08348791468083297,  -0.04553622592770266,
    0.01301248329478358,   0.029367943724791963,  0.013670154906638362,   -0.00712641184482904, -0.003387944153682229,
    0.0448506256317269,    -0.06341903963964739,  -0.12232545276508985,   -0.10195080910377109, 0.016048542061435987,
    0.2267961338153456};
const std::vector<double> torch_dw = {1.4510757749431813, -4.102373378189313, -2.7810264723984632};
const std::vector<double> torch_db = {9.030769304349786, -4.853523723880506, -6.825307790933301};

template <class T>
void set_affine(InstanceNorm2d<T>& norm, const std::vector<double>& w, const std::vector<double>& b) {
  auto ps = norm.parameters();
  for (std::size_t c = 0; c < w.size(); ++c) {
    ps[0]->value[std::int64_t(c)] = T(w[c]);
    ps[1]->value[std::int64_t(c)] = T(b[c]);
  }
}

}  // namespace

TEMPLATE_TEST_CASE("InstanceNorm2d matches PyTorch forward and backward", "[instance_norm]", float, double) {
  using T = TestType;
  const double rel = std::is_same_v<T, float> ? 2e-5 : 1e-12;
  const double abs_floor = std::is_same_v<T, float> ? 2e-6 : 1e-14;
  InstanceNorm2d<T> norm(3, true);
  set_affine(norm, {1.5, -0.5, 2.0}, {0.25, 0.0, -1.0});
  Tensor<T> x(Shape{2, 3, 2, 3}), dy(Shape{2, 3, 2, 3}), y, dx;
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    x[i] = T(std::sin(0.7 * double(i)) * (1 + 0.1 * double(i)));
    dy[i] = T(std::cos(0.3 * double(i)));
  }
  norm.forward(x.view(), y);
  for (auto* p : norm.parameters()) p->grad.zero();
  norm.backward(x.view(), y.view(), dy.view(), &dx, ParamGrads::accumulate);
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    INFO("element " << i << ": y " << y[i] << ", dx " << dx[i]);
    CHECK(close(y[i], torch_y[std::size_t(i)], rel, abs_floor));
    CHECK(close(dx[i], torch_dx[std::size_t(i)], rel, abs_floor));
  }
  auto ps = norm.parameters();
  for (std::int64_t c = 0; c < 3; ++c) {
    CHECK(close(ps[0]->grad[c], torch_dw[std::size_t(c)], rel, abs_floor));
    CHECK(close(ps[1]->grad[c], torch_db[std::size_t(c)], rel, abs_floor));
  }
}

TEST_CASE("InstanceNorm2d without affine gives planes of mean 0 and variance var/(var+eps)", "[instance_norm]") {
  InstanceNorm2d<double> norm(2);
  CHECK(norm.parameters().empty());
  CHECK(norm.describe() == "InstanceNorm2d(2, eps 1e-05)");
  CHECK(InstanceNorm2d<float>(64, true, 1e-3).describe() == "InstanceNorm2d(64, affine, eps 0.001)");
  Tensor<double> x(Shape{3, 2, 4, 5}), y;
  fill_uniform(x.view(), 7, -5.0, 9.0);
  norm.forward(x.view(), y);
  for (std::int64_t p = 0; p < 6; ++p) {
    double mx = 0, vx = 0, my = 0, vy = 0;
    for (int i = 0; i < 20; ++i) mx += x[p * 20 + i] / 20, my += y[p * 20 + i] / 20;
    for (int i = 0; i < 20; ++i) {
      vx += (x[p * 20 + i] - mx) * (x[p * 20 + i] - mx) / 20;
      vy += (y[p * 20 + i] - my) * (y[p * 20 + i] - my) / 20;
    }
    CHECK(my == Approx(0.0).margin(1e-14));
    CHECK(vy == Approx(vx / (vx + 1e-5)).epsilon(1e-13));
  }
}

TEST_CASE("InstanceNorm2d in float stays accurate on large planes with a large offset", "[instance_norm]") {
  // Sums in double: a float sum over 128x128 values near 1000 would lose the small spread.
  InstanceNorm2d<float> nf(1);
  InstanceNorm2d<double> nd(1);
  Tensor<double> xd(Shape{1, 1, 128, 128}), yd;
  fill_uniform(xd.view(), 8, 999.0, 1001.0);
  Tensor<float> xf(xd.shape()), yf;
  for (std::int64_t i = 0; i < xd.numel(); ++i) xf[i] = float(xd[i]), xd[i] = double(xf[i]);
  nf.forward(xf.view(), yf);
  nd.forward(xd.view(), yd);
  double worst = 0;
  for (std::int64_t i = 0; i < xd.numel(); ++i) worst = std::max(worst, std::abs(double(yf[i]) - yd[i]));
  CHECK(worst < 1e-3);
}

TEST_CASE("InstanceNorm2d keeps the digits of planes with a large offset and a small spread", "[instance_norm]") {
  // x = 1000 + 0.01 z: mu rounded to float is off by up to 3e-5, a third of a percent of the
  // spread; the layer carries that rounding in its constant term (y was up to 9e-3 off, dx
  // 7e-4 of its largest entry).
  for (const Shape& s : {Shape{2, 3, 8, 8}, Shape{2, 3, 2, 4}, Shape{1, 3, 32, 32}}) {
    Tensor<float> xf(s), dyf(s), yf, dxf;
    RandomStream(11, Purpose::user).normal(xf.span());
    RandomStream(12, Purpose::user).normal(dyf.span());
    for (float& v : xf.span()) v = 1000.0f + 0.01f * v;
    Tensor<double> xd(s), dyd(s), yd, dxd;
    for (std::int64_t i = 0; i < s.numel(); ++i) xd[i] = xf[i], dyd[i] = dyf[i];
    InstanceNorm2d<float> nf(3, true);
    InstanceNorm2d<double> nd(3, true);
    set_affine(nf, {1.5, -0.5, 2.0}, {0.25, 0.0, -1.0});
    set_affine(nd, {1.5, -0.5, 2.0}, {0.25, 0.0, -1.0});
    nf.forward(xf.view(), yf);
    nd.forward(xd.view(), yd);
    nf.backward(xf.view(), yf.view(), dyf.view(), &dxf, ParamGrads::skip);
    nd.backward(xd.view(), yd.view(), dyd.view(), &dxd, ParamGrads::skip);
    double worst_y = 0, worst_dx = 0, largest_dx = 0;
    for (std::int64_t i = 0; i < s.numel(); ++i) {
      worst_y = std::max(worst_y, std::abs(yf[i] - yd[i]) / std::max(1.0, std::abs(yd[i])));
      worst_dx = std::max(worst_dx, std::abs(dxf[i] - dxd[i]));
      largest_dx = std::max(largest_dx, std::abs(dxd[i]));
    }
    INFO(s.to_string() << ": worst error of y " << worst_y << ", of dx " << worst_dx / largest_dx << " of the largest");
    CHECK(worst_y < 1e-6);
    CHECK(worst_dx < 1e-6 * largest_dx);
  }
}

TEST_CASE("InstanceNorm2d stays accurate when a plane's first element is far from the rest", "[instance_norm]") {
  // The sums are taken around the first element: here it is the plane's one outlier, the
  // case where that costs the most digits (a factor of M at worst, see the header).
  for (const Shape& s : {Shape{1, 1, 32, 32}, Shape{1, 1, 8, 8}}) {
    Tensor<double> xd(s);
    fill_uniform(xd.view(), 9, 999.0, 1001.0);
    xd[0] = 5000.0;
    Tensor<double> dyd(s);
    fill_uniform(dyd.view(), 10);
    Tensor<float> xf(s), yf, dyf(s), dxf;
    for (std::int64_t i = 0; i < xd.numel(); ++i) xf[i] = float(xd[i]), xd[i] = double(xf[i]), dyf[i] = float(dyd[i]);
    InstanceNorm2d<float> norm(1);
    norm.forward(xf.view(), yf);
    norm.backward(xf.view(), yf.view(), dyf.view(), &dxf, ParamGrads::skip);
    // The textbook's two passes in long double.
    const long double m = static_cast<long double>(xd.numel());
    long double mean = 0, var = 0, sum_dy = 0, sum_dy_xhat = 0;
    for (std::int64_t i = 0; i < xd.numel(); ++i) mean += xd[i];
    mean /= m;
    for (std::int64_t i = 0; i < xd.numel(); ++i) var += (xd[i] - mean) * (xd[i] - mean);
    const long double r = 1 / std::sqrt(var / m + 1e-5L);
    for (std::int64_t i = 0; i < xd.numel(); ++i) {
      sum_dy += dyf[i];
      sum_dy_xhat += dyf[i] * (xd[i] - mean) * r;
    }
    double worst_y = 0, worst_dx = 0;
    for (std::int64_t i = 0; i < xd.numel(); ++i) {
      const long double xhat = (xd[i] - mean) * r;
      const long double dx = r * (dyf[i] - sum_dy / m - xhat * sum_dy_xhat / m);
      worst_y = std::max(worst_y, double(std::abs(yf[i] - xhat)) / std::max(1.0, double(std::abs(xhat))));
      worst_dx = std::max(worst_dx, double(std::abs(dxf[i] - dx)));
    }
    INFO(s.to_string() << ": worst error of y " << worst_y << ", of dx " << worst_dx);
    CHECK(worst_y < 1e-6);
    CHECK(worst_dx < 1e-8);
  }
}

TEST_CASE("InstanceNorm2d gradients match finite differences", "[instance_norm][gradcheck]") {
  std::uint32_t salt = 300;
  for (bool affine : {false, true}) {
    for (Shape s : {Shape{1, 1, 1, 2}, Shape{1, 2, 3, 3}, Shape{2, 3, 4, 5}, Shape{3, 1, 5, 7}}) {
      InstanceNorm2d<double> norm(s[1], affine);
      if (affine) {
        for (auto* p : norm.parameters()) fill_uniform(p->value.view(), salt++, -2.0, 2.0);
      }
      Tensor<double> x(s);
      fill_uniform(x.view(), salt++, -1.0, 3.0);
      INFO(norm.describe() << " on " << s.to_string());
      CHECK(gradcheck(norm, x) < 1e-6);
    }
  }
}

TEST_CASE("InstanceNorm2d backward honours grad_in = null and ParamGrads::skip", "[instance_norm]") {
  InstanceNorm2d<double> norm(3, true);
  for (auto* p : norm.parameters()) fill_uniform(p->value.view(), 11, 0.5, 1.5);
  Tensor<double> x(Shape{2, 3, 3, 3}), g(Shape{2, 3, 3, 3}), y, dx;
  fill_uniform(x.view(), 12);
  fill_uniform(g.view(), 13);
  norm.forward(x.view(), y);
  auto ps = norm.parameters();
  for (auto* p : ps) p->grad.zero();
  norm.backward(x.view(), y.view(), g.view(), &dx, ParamGrads::accumulate);
  const Tensor<double> dw = ps[0]->grad.clone(), db = ps[1]->grad.clone();
  // Parameters only: the same parameter gradients, added once more.
  norm.backward(x.view(), y.view(), g.view(), nullptr, ParamGrads::accumulate);
  for (std::int64_t c = 0; c < 3; ++c) {
    CHECK(ps[0]->grad[c] == Approx(2 * dw[c]));
    CHECK(ps[1]->grad[c] == Approx(2 * db[c]));
  }
  // Input gradient only: the parameter gradients stay as they are.
  Tensor<double> dx2;
  norm.backward(x.view(), y.view(), g.view(), &dx2, ParamGrads::skip);
  for (std::int64_t c = 0; c < 3; ++c) CHECK(ps[0]->grad[c] == Approx(2 * dw[c]));
  for (std::int64_t i = 0; i < dx.numel(); ++i) CHECK(dx2[i] == dx[i]);
  // reset_parameters restores PyTorch's weight 1, bias 0.
  norm.reset_parameters(5, 0);
  for (std::int64_t c = 0; c < 3; ++c) {
    CHECK(ps[0]->value[c] == 1.0);
    CHECK(ps[1]->value[c] == 0.0);
  }
}

TEST_CASE("InstanceNorm2d gives identical results on 1 and 2 threads", "[instance_norm][threads]") {
  const Shape s{16, 8, 9, 11};
  Tensor<float> x(s), g(s);
  RandomStream(5, Purpose::user).normal(x.span(), 2.0);
  RandomStream(6, Purpose::user).normal(g.span());
  Tensor<float> y[2], dx[2], dw[2], db[2];
  const int saved_threads = max_threads();
  for (int threads : {1, 2}) {
    set_threads(threads);
    InstanceNorm2d<float> norm(8, true);
    norm.forward(x.view(), y[threads - 1]);
    norm.backward(x.view(), y[threads - 1].view(), g.view(), &dx[threads - 1], ParamGrads::accumulate);
    dw[threads - 1] = norm.parameters()[0]->grad.clone();
    db[threads - 1] = norm.parameters()[1]->grad.clone();
  }
  set_threads(saved_threads);
  const auto bytes = sizeof(float) * std::size_t(s.numel());
  CHECK(std::memcmp(y[0].data(), y[1].data(), bytes) == 0);
  CHECK(std::memcmp(dx[0].data(), dx[1].data(), bytes) == 0);
  CHECK(std::memcmp(dw[0].data(), dw[1].data(), 8 * sizeof(float)) == 0);
  CHECK(std::memcmp(db[0].data(), db[1].data(), 8 * sizeof(float)) == 0);
}

TEST_CASE("InstanceNorm2d rejects bad arguments and shapes", "[instance_norm][errors]") {
  CHECK_THROWS_WITH(InstanceNorm2d<float>(0), "InstanceNorm2d: channels must be >= 1, got 0");
  CHECK_THROWS_WITH(InstanceNorm2d<float>(3, false, 0.0), "InstanceNorm2d: eps must be positive and finite, got 0");
  CHECK_THROWS_AS(InstanceNorm2d<float>(3, false, -1e-5), argument_error);
  InstanceNorm2d<float> norm(3);
  Tensor<float> y;
  Tensor<float> wrong_channels(Shape{2, 4, 5, 5}, 0.0f), flat(Shape{2, 3}, 0.0f), one_pixel(Shape{2, 3, 1, 1}, 0.0f);
  CHECK_THROWS_WITH(norm.forward(wrong_channels.view(), y),
                    "InstanceNorm2d(3, eps 1e-05): input [2, 4, 5, 5] must be [N, 3, H, W]");
  CHECK_THROWS_AS(norm.forward(flat.view(), y), shape_error);
  CHECK_THROWS_WITH(norm.forward(one_pixel.view(), y), Catch::Contains("needs more than one spatial element"));
  Tensor<float> x(Shape{1, 3, 2, 2}, 1.0f), g(Shape{1, 3, 4, 1}, 1.0f), dx;
  norm.forward(x.view(), y);
  CHECK_THROWS_AS(norm.backward(x.view(), y.view(), g.view(), &dx, ParamGrads::accumulate), shape_error);
}
