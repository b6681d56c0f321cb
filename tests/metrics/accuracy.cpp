#include "farbound/metrics/accuracy.hpp"

#include <catch2/catch.hpp>
#include <vector>

#include "support/attack_models.hpp"
#include "support/layer_checks.hpp"

using namespace farbound;
using testing::affine_classifier;
using testing::small_conv_net;
using testing::test_images;

namespace {
// Four points of two inputs.
Tensor<double> four_points() { return testing::tensor_of<double>({4, 2}, {0.9, 0.1, 0.1, 0.9, 0.2, 0.3, 0.6, 0.5}); }
}  // namespace

TEST_CASE("predict and accuracy on an affine classifier", "[accuracy]") {
  auto model = affine_classifier<double>(2, {1, 0, 0, 1, 0, 0}, {0, 0, 0.5});
  const auto x = four_points();
  // logits: [0.9, 0.1, 0.5], [0.1, 0.9, 0.5], [0.2, 0.3, 0.5], [0.6, 0.5, 0.5]
  const std::vector<int> expected = {0, 1, 2, 0};
  for (std::int64_t batch : {1, 3, 256}) CHECK(predict(model, x.view(), batch) == expected);
  CHECK(accuracy(model, x.view(), std::vector<int>{0, 1, 2, 1}) == 0.75);
  CHECK(accuracy(std::vector<int>{1, 2}, std::vector<int>{1, 1}) == 0.5);
}

TEST_CASE("predict restores the mode and does not depend on the batch size", "[accuracy]") {
  auto model = small_conv_net<float>(3);
  const auto x = test_images<float>(23, 3);
  model.set_training(true);
  const auto all = predict(model, x.view(), 23);
  CHECK(model.training());
  CHECK(predict(model, x.view(), 4) == all);
}

TEST_CASE("commonly_correct keeps the points every model gets right", "[accuracy]") {
  auto a = affine_classifier<double>(2, {1, 0, 0, 1, 0, 0}, {0, 0, 0.5});
  auto b = affine_classifier<double>(2, {1, 0, 0, 1, 0, 0}, {0, 0.15, 0.5});  // item 3 becomes class 1
  const auto x = four_points();
  const std::vector<int> y = {0, 1, 2, 0};
  std::vector<Sequential<double>*> models = {&a, &b};
  CHECK(commonly_correct<double>(models, x.view(), y) == std::vector<std::int64_t>{0, 1, 2});
  std::vector<Sequential<double>*> only_a = {&a};
  CHECK(commonly_correct<double>(only_a, x.view(), y) == std::vector<std::int64_t>{0, 1, 2, 3});
}

TEST_CASE("accuracy rejects bad arguments", "[accuracy][errors]") {
  auto model = affine_classifier<double>(2, {1, 0, 0, 1}, {0, 0});
  const auto x = four_points();
  CHECK_THROWS_AS(accuracy(model, x.view(), std::vector<int>{0, 1}), shape_error);
  CHECK_THROWS_AS(accuracy(std::vector<int>{}, std::vector<int>{}), shape_error);
  CHECK_THROWS_AS(predict(model, Tensor<double>({0, 2}).view()), shape_error);
  CHECK_THROWS_AS(predict(model, x.view(), 0), argument_error);
  CHECK_THROWS_AS(predict(model, Tensor<double>({2, 3}, 0.0).view()), shape_error);
  std::vector<Sequential<double>*> none;
  CHECK_THROWS_AS(commonly_correct<double>(none, x.view(), std::vector<int>{0, 1, 0, 0}), argument_error);
}
