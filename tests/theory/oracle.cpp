#include "farbound/theory/oracle.hpp"

#include <catch2/catch.hpp>

#include <vector>

#include "farbound/data/toy.hpp"

using namespace farbound;

TEST_CASE("an oracle classifies through its features", "[theory][oracle]") {
  CoordinateFeatures<double> g2({1, 2});
  Oracle<double> f2(g2, halfspace_decision<double>({1.0, -1.0}, 0.5));
  Tensor<double> x({3, 3});
  const double v[] = {100, 0, 0, -100, 0, 1, 7, 2, 1};
  for (int i = 0; i < 9; ++i) x[i] = v[i];
  std::vector<int> labels;
  Tensor<double> features;
  f2.classify(x.view(), labels, features);
  CHECK(labels == std::vector<int>{1, 0, 1});  // 0.5 >= 0, -0.5 < 0, 1.5 >= 0
  REQUIRE(features.shape() == Shape({3, 2}));
  CHECK(features[4] == 2);
  CHECK(&f2.features() == &g2);

  IdentityFeatures<double> scores;
  Oracle<double> top(scores, argmax_decision<double>());
  top.classify(x.view(), labels);
  CHECK(labels == std::vector<int>{0, 2, 0});
}

TEST_CASE("the half-space oracle reproduces relevant_features' labels", "[theory][oracle]") {
  const auto data = relevant_features<double>(300, 6, 3, 11, 0.2);
  auto g2 = CoordinateFeatures<double>::first(3);
  Oracle<double> f2(g2, halfspace_decision<double>(relevant_direction(3, 11)));
  Tensor<double> x = Tensor<double>::from_view(data.inputs());
  std::vector<int> labels;
  f2.classify(x.view(), labels);
  CHECK(std::vector<int>(data.labels().begin(), data.labels().end()) == labels);
}

TEST_CASE("oracles reject empty rules and mismatched features", "[theory][oracle][errors]") {
  IdentityFeatures<double> g;
  CHECK_THROWS_AS(Oracle<double>(g, {}), argument_error);
  CHECK_THROWS_AS(halfspace_decision<double>({}), argument_error);
  Oracle<double> f2(g, halfspace_decision<double>({1.0, 1.0}));
  std::vector<int> labels;
  CHECK_THROWS_AS(f2.classify(Tensor<double>({2, 3}, 0.0).view(), labels), shape_error);
}
