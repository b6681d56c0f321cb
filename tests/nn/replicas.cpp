#include "farbound/nn/replicas.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "farbound/core/parallel.hpp"
#include "farbound/core/random.hpp"
#include "farbound/nn/dense.hpp"
#include "farbound/nn/dropout.hpp"
#include "farbound/nn/residual.hpp"
#include "farbound/nn/zoo.hpp"

using namespace farbound;

namespace {

// One forward and backward of x with dL/dy = g through `replicas` copies of LeNet (the
// model's parameters from seed 1, the copies' from seed 2: the forward must overwrite them)
// on `threads` threads; returns the output and the model's parameter gradients, in a row.
std::vector<float> run(int replica_count, int threads, const Tensor<float>& x, const Tensor<float>& g) {
  set_threads(threads);
  ModelSpec spec;
  Sequential<float> model = build_model<float>(spec, 1);
  std::vector<Sequential<float>> copies;
  for (int r = 1; r < replica_count; ++r) copies.push_back(build_model<float>(spec, 2));
  Replicas<float> replicas(model, copies);
  replicas.set_training(true);
  const TensorView<const float> y = replicas.forward(x.view());
  std::vector<float> out(y.data(), y.data() + y.numel());
  for (Parameter<float>* p : model.parameters()) p->grad.fill(0.5f);  // backward adds to it
  replicas.backward(g.view());
  for (Parameter<float>* p : model.parameters()) out.insert(out.end(), p->grad.data(), p->grad.data() + p->grad.numel());
  set_threads(2);
  return out;
}

Tensor<float> random_rows(Shape shape, std::uint64_t purpose_index) {
  Tensor<float> t(shape);
  RandomStream(7, Purpose::user, purpose_index).normal(t.span(), 1.0);
  return t;
}

}  // namespace

TEST_CASE("Replicas give the same bits on 1 and 2 threads, and the model's results up to rounding", "[replicas]") {
  const Tensor<float> x = random_rows({40, 1, 32, 32}, 0), g = random_rows({40, 10}, 1);
  const std::vector<float> one = run(1, 2, x, g), two_serial = run(2, 1, x, g), two = run(2, 2, x, g),
                           three = run(3, 2, x, g);
  REQUIRE(one.size() == two.size());
  CHECK(two == two_serial);
  // 40 rows: 2 replicas of 20; a third would get fewer than min_rows, so 3 copies run as 2.
  CHECK(three == two);
  double worst = 0, largest = 0;
  for (std::size_t i = 0; i < one.size(); ++i) {
    worst = std::max(worst, std::abs(double(two[i]) - double(one[i])));
    largest = std::max(largest, std::abs(double(one[i])));
  }
  INFO("largest difference " << worst << " of values up to " << largest);
  CHECK(worst <= 1e-5 * largest);
  CHECK(worst > 0);  // the gradient sums are grouped otherwise: not the same bits as one model
}

TEST_CASE("Replicas run a batch of fewer than 2 * min_rows rows on the model alone", "[replicas]") {
  const Tensor<float> x = random_rows({Replicas<float>::min_rows * 2 - 1, 1, 32, 32}, 2),
                      g = random_rows({Replicas<float>::min_rows * 2 - 1, 10}, 3);
  CHECK(run(2, 2, x, g) == run(1, 2, x, g));
}

TEST_CASE("Replicas reject copies of another architecture and pass the layers' errors on", "[replicas][errors]") {
  ModelSpec spec;
  Sequential<float> model = build_model<float>(spec, 1);
  std::vector<Sequential<float>> other(1);
  other[0].add<Dense<float>>(3, 2);
  CHECK_THROWS_AS(Replicas<float>(model, other), argument_error);
  CHECK_THROWS_WITH(Replicas<float>(model, other), "Replicas: copy 1 does not have the model's layers and parameters");
  // The same shapes of parameters, other layers: LeNet with ReLU for its sigmoid.
  spec.activation = "relu";
  other[0] = build_model<float>(spec, 1);
  spec.activation = "sigmoid";
  CHECK_THROWS_WITH(Replicas<float>(model, other), "Replicas: copy 1 does not have the model's layers and parameters");
  // The model given as its own copy would run on two threads at once.
  std::vector<Sequential<float>> models(2);
  models[0] = build_model<float>(spec, 1);
  models[1] = build_model<float>(spec, 1);
  CHECK_THROWS_WITH(Replicas<float>(models[0], models), "Replicas: copy 1 is the model itself");
  CHECK_NOTHROW(Replicas<float>(models[0], std::span(models).subspan(1)));

  // Dropout keys its masks by the element's place in the forward's batch: every replica
  // would draw the first rows' masks, also from inside a residual block.
  const std::string dropout = "Replicas: the model has a layer that keys random numbers by a row's place in the "
                              "batch (Dropout): every replica would draw the first rows' numbers";
  for (bool nested : {false, true}) {
    std::vector<Sequential<float>> dropping(2);
    for (Sequential<float>& m : dropping) {
      m.add<Dense<float>>(4, 4);
      if (!nested) {
        m.add<Dropout<float>>(0.5);
        continue;
      }
      Sequential<float> body;
      body.add<Dropout<float>>(0.5);
      m.add<Residual<float>>(std::move(body));
    }
    INFO("nested " << nested);
    CHECK_THROWS_WITH(Replicas<float>(dropping[0], std::span(dropping).subspan(1)), dropout);
    CHECK_NOTHROW(Replicas<float>(dropping[0], std::span<Sequential<float>>()));  // the model alone
  }

  std::vector<Sequential<float>> copy;
  copy.push_back(build_model<float>(spec, 1));
  Replicas<float> replicas(model, copy);
  const Tensor<float> wrong = random_rows({40, 3, 32, 32}, 4);  // LeNet takes one channel
  CHECK_THROWS_AS(replicas.forward(wrong.view()), shape_error);
}
