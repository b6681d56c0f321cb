#include "farbound/theory/feature_map.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "farbound/nn/activation.hpp"
#include "farbound/nn/dense.hpp"

using namespace farbound;

namespace {

template <class T>
Tensor<T> batch(std::int64_t n, std::int64_t d, const std::vector<double>& values) {
  Tensor<T> x({n, d});
  for (std::int64_t i = 0; i < x.numel(); ++i) x[i] = T(values[std::size_t(i)]);
  return x;
}

// Checks the defining properties of a linear map's geometry against P.
void check_geometry(const FeatureGeometry& g, const Eigen::MatrixXd& p, std::int64_t rank) {
  const std::int64_t d = p.cols();
  REQUIRE(g.input_numel() == d);
  REQUIRE(g.rank() == rank);
  REQUIRE(g.invisible_count() == d - rank);
  // P visible = U_r has orthonormal columns: ||P visible c|| = ||c||.
  const Eigen::MatrixXd pv = p * g.visible;
  CHECK((pv.transpose() * pv - Eigen::MatrixXd::Identity(rank, rank)).cwiseAbs().maxCoeff() < 1e-12);
  // The invisible directions are orthonormal and P cannot see them.
  if (d > rank) {
    CHECK((g.invisible.transpose() * g.invisible - Eigen::MatrixXd::Identity(d - rank, d - rank)).cwiseAbs().maxCoeff() <
          1e-12);
    CHECK((p * g.invisible).cwiseAbs().maxCoeff() < 1e-12);
    CHECK((g.visible.transpose() * g.invisible).cwiseAbs().maxCoeff() < 1e-12);
  }
}

}  // namespace

TEMPLATE_TEST_CASE("identity, coordinate and linear features map as written", "[theory][feature_map]", float, double) {
  using T = TestType;
  const Tensor<T> x = batch<T>(2, 3, {1, 2, 3, -4, 5, -6});

  Tensor<T> out;
  IdentityFeatures<T> identity;
  identity.map(x.view(), out);
  REQUIRE(out.shape() == Shape({2, 3}));
  for (std::int64_t i = 0; i < 6; ++i) CHECK(out[i] == x[i]);

  CoordinateFeatures<T> coords({2, 0});
  coords.map(x.view(), out);
  REQUIRE(out.shape() == Shape({2, 2}));
  CHECK(out[0] == T(3));
  CHECK(out[1] == T(1));
  CHECK(out[2] == T(-6));
  CHECK(out[3] == T(-4));
  CHECK(coords.describe() == "coordinates {2, 0}");
  CHECK(CoordinateFeatures<T>::first(2).coordinates() == std::vector<std::int64_t>{0, 1});

  LinearFeatures<T> linear(2, 3, {1, 1, 0, 0, 0.5, -2});
  linear.map(x.view(), out);
  REQUIRE(out.shape() == Shape({2, 2}));
  CHECK(out[0] == Approx(3));
  CHECK(out[1] == Approx(1 - 6));
  CHECK(out[2] == Approx(1));
  CHECK(out[3] == Approx(2.5 + 12));

  // A [N, 1, 2, 2] batch is read flattened.
  Tensor<T> images({1, 1, 2, 2});
  for (std::int64_t i = 0; i < 4; ++i) images[i] = T(i);
  CoordinateFeatures<T>({3}).map(images.view(), out);
  REQUIRE(out.shape() == Shape({1, 1}));
  CHECK(out[0] == T(3));
}

TEST_CASE("the geometry of a linear map splits the input space", "[theory][feature_map]") {
  SECTION("identity: everything visible") {
    const auto g = IdentityFeatures<double>().geometry(4);
    REQUIRE(g);
    check_geometry(*g, Eigen::MatrixXd::Identity(4, 4), 4);
  }
  SECTION("coordinates: the others are invisible") {
    const auto g = CoordinateFeatures<double>({3, 1}).geometry(5);
    REQUIRE(g);
    Eigen::MatrixXd p = Eigen::MatrixXd::Zero(2, 5);
    p(0, 3) = 1;
    p(1, 1) = 1;
    check_geometry(*g, p, 2);
    // The invisible directions are exactly the unit vectors of coordinates 0, 2, 4.
    for (std::int64_t c : {0, 2, 4}) CHECK(g->invisible.row(c).cwiseAbs().sum() == 1);
    for (std::int64_t c : {1, 3}) CHECK(g->invisible.row(c).cwiseAbs().sum() == 0);
  }
  SECTION("a projection of full row rank") {
    LinearFeatures<double> f(2, 4, {1, 2, 0, -1, 0, 3, 1, 1});
    const auto g = f.geometry(4);
    REQUIRE(g);
    check_geometry(*g, f.matrix(), 2);
  }
  SECTION("a rank-deficient projection: repeated rows count once") {
    LinearFeatures<double> f(3, 3, {1, 1, 0, 2, 2, 0, -1, -1, 0});
    const auto g = f.geometry(3);
    REQUIRE(g);
    check_geometry(*g, f.matrix(), 1);
  }
  SECTION("a learned layer and a function have none") {
    Sequential<double> m;
    m.add<Dense<double>>(3, 2);
    CHECK_FALSE(LayerFeatures<double>(m, 1).geometry(3));
    FunctionFeatures<double> fn("copy", [](TensorView<const double> x, Tensor<double>& out) {
      out.resize(x.shape());
    });
    CHECK_FALSE(fn.geometry(3));
  }
}

TEMPLATE_TEST_CASE("layer features are the network's activations, in eval mode", "[theory][feature_map]", float,
                   double) {
  using T = TestType;
  Sequential<T> m;
  m.template add<Dense<T>>(3, 4);
  m.template add<Tanh<T>>();
  m.template add<Dense<T>>(4, 2);
  m.reset_parameters(7);
  const Tensor<T> x = batch<T>(2, 3, {0.1, -0.2, 0.3, 1, 2, -3});
  const Tensor<T> expected = Tensor<T>::from_view(m.forward(x.view(), 0, 2));

  LayerFeatures<T> g1(m, 2);
  Tensor<T> out;
  m.set_training(true);
  g1.map(x.view(), out);
  CHECK(m.training());
  REQUIRE(out.shape() == Shape({2, 4}));
  for (std::int64_t i = 0; i < out.numel(); ++i) CHECK(out[i] == expected[i]);

  // Zero layers: the input, flattened.
  LayerFeatures<T>(m, 0).map(x.view(), out);
  for (std::int64_t i = 0; i < out.numel(); ++i) CHECK(out[i] == x[i]);
}

TEST_CASE("user function features are flattened per item", "[theory][feature_map]") {
  FunctionFeatures<double> squares("squares", [](TensorView<const double> x, Tensor<double>& out) {
    out.resize({x.size(0), 1, x.shape().item_numel()});
    for (std::int64_t i = 0; i < x.numel(); ++i) out[i] = x[i] * x[i];
  });
  const Tensor<double> x = batch<double>(2, 2, {1, -2, 3, 0.5});
  Tensor<double> out;
  squares.map(x.view(), out);
  REQUIRE(out.shape() == Shape({2, 2}));
  CHECK(out[1] == 4);
  CHECK(out[3] == 0.25);
  CHECK(squares.describe() == "squares");
}

TEST_CASE("feature maps reject bad arguments and shapes", "[theory][feature_map][errors]") {
  const Tensor<double> x = batch<double>(2, 3, {1, 2, 3, 4, 5, 6});
  Tensor<double> out;
  CHECK_THROWS_AS(CoordinateFeatures<double>({}), argument_error);
  CHECK_THROWS_AS(CoordinateFeatures<double>({1, -1}), argument_error);
  CHECK_THROWS_AS(CoordinateFeatures<double>({1, 2, 1}), argument_error);
  CHECK_THROWS_AS(CoordinateFeatures<double>::first(0), argument_error);
  CHECK_THROWS_AS(CoordinateFeatures<double>({3}).map(x.view(), out), shape_error);
  CHECK_THROWS_AS(CoordinateFeatures<double>({3}).geometry(3), shape_error);
  CHECK_THROWS_AS(LinearFeatures<double>(2, 3, {1, 2, 3}), shape_error);
  CHECK_THROWS_AS(LinearFeatures<double>(0, 3, {}), argument_error);
  CHECK_THROWS_AS(LinearFeatures<double>(1, 2, {1, 2}).map(x.view(), out), shape_error);
  CHECK_THROWS_AS(IdentityFeatures<double>().map(Tensor<double>({0, 3}).view(), out), shape_error);
  CHECK_THROWS_AS(IdentityFeatures<double>().map(Tensor<double>({3}).view(), out), shape_error);
  Sequential<double> m;
  m.add<Dense<double>>(3, 2);
  CHECK_THROWS_AS(LayerFeatures<double>(m, 2), argument_error);
  CHECK_THROWS_AS(FunctionFeatures<double>("none", {}), argument_error);
  FunctionFeatures<double> wrong("wrong", [](TensorView<const double>, Tensor<double>& o) { o.resize({1, 3}); });
  CHECK_THROWS_AS(wrong.map(x.view(), out), shape_error);
}
