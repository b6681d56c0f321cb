#include "farbound/nn/zoo.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "farbound/core/parallel.hpp"
#include "farbound/core/random.hpp"

using namespace farbound;

TEST_CASE("zoo models have the paper's shapes and parameter counts", "[zoo]") {
  ModelSpec lenet_spec;  // LeNet, sigmoid, 1x32x32, 10 classes
  auto lenet = build_model<float>(lenet_spec, 1);
  CHECK(lenet.output_shape({5, 1, 32, 32}) == Shape{5, 10});
  // conv1 156 + conv2 2416 + fc 48120 + 10164 + 850 (PyTorch's count for the reference LeNet)
  CHECK(lenet.num_parameters() == 61706);
  CHECK(feature_layer_index(lenet) == 7);
  CHECK(lenet.output_shape({2, 1, 32, 32}, 0, 7) == Shape{2, 16, 5, 5});

  ModelSpec res{.arch = "resnet9", .activation = "celu", .in_channels = 3, .mean = {0.5, 0.5, 0.5}, .stddev = {0.25, 0.25, 0.25}};
  auto resnet = build_model<float>(res, 1);
  CHECK(resnet.output_shape({2, 3, 32, 32}) == Shape{2, 10});
  CHECK(resnet.output_shape({2, 3, 32, 32}, 0, feature_layer_index(resnet)) == Shape{2, 512, 1, 1});

  ModelSpec m{.arch = "mlp", .activation = "relu", .in_channels = 1, .image_size = 2, .num_classes = 2, .hidden = {8, 8}};
  auto net = build_model<double>(m, 3);
  CHECK(net.output_shape({4, 1, 2, 2}) == Shape{4, 2});
  CHECK(net.num_parameters() == (4 * 8 + 8) + (8 * 8 + 8) + (8 * 2 + 2));
}

TEST_CASE("the same seed gives the same weights", "[zoo]") {
  auto a = build_model<float>(ModelSpec{}, 7), b = build_model<float>(ModelSpec{}, 7), c = build_model<float>(ModelSpec{}, 8);
  auto pa = a.parameters(), pb = b.parameters(), pc = c.parameters();
  CHECK(pa[0]->value[3] == pb[0]->value[3]);
  CHECK(pa[0]->value[3] != pc[0]->value[3]);
}

TEST_CASE("bad specs are argument errors", "[zoo][errors]") {
  CHECK_THROWS_WITH(build_model<float>(ModelSpec{.arch = "vgg"}, 1), Catch::Contains("vgg"));
  CHECK_THROWS_WITH(build_model<float>(ModelSpec{.activation = "swish"}, 1), Catch::Contains("swish"));
  CHECK_THROWS_AS(build_model<float>(ModelSpec{.image_size = 28}, 1), argument_error);
  CHECK_THROWS_AS(build_model<float>(ModelSpec{.num_classes = 1}, 1), argument_error);
  // Sizes beyond ModelSpecLimits are refused before anything is allocated.
  CHECK_THROWS_WITH(build_model<float>(ModelSpec{.num_classes = 1000000000}, 1), Catch::Contains("num_classes"));
  CHECK_THROWS_WITH(build_model<float>(ModelSpec{.arch = "mlp", .hidden = {30000, 30000}}, 1), Catch::Contains("parameters"));
  CHECK_THROWS_WITH(build_model<float>(ModelSpec{.in_channels = 3, .mean = {0.0, 0.0}, .stddev = {1.0, 1.0}}, 1),
                    Catch::Contains("one per input channel"));
}

TEST_CASE("a ResNet9 training step gives the same bits on 1 and 2 threads", "[zoo][threads]") {
  // Every kind of product at once: Winograd's (32-512 channels), the RGB layer's image by
  // image, the unpacked dense layer.
  ModelSpec spec{.arch = "resnet9", .activation = "celu", .in_channels = 3, .mean = {0.5, 0.5, 0.5}, .stddev = {0.25, 0.25, 0.25}};
  Tensor<float> x({2, 3, 32, 32}), g({2, 10});
  RandomStream(3, Purpose::user, 0).uniform(x.span());
  RandomStream(3, Purpose::user, 1).normal(g.span());
  std::vector<float> runs[2];
  const int saved_threads = max_threads();
  for (int threads : {1, 2}) {
    set_threads(threads);
    auto net = build_model<float>(spec, 5);
    const auto y = net.forward(x.view());
    std::vector<float>& bits = runs[threads - 1];
    bits.assign(y.data(), y.data() + y.numel());
    const auto dx = net.backward_range(g.view(), 0, net.size(), InputGrad::compute);
    bits.insert(bits.end(), dx.data(), dx.data() + dx.numel());
    for (auto* p : net.parameters()) bits.insert(bits.end(), p->grad.data(), p->grad.data() + p->grad.numel());
  }
  set_threads(saved_threads);
  REQUIRE(runs[0].size() == runs[1].size());
  CHECK(std::memcmp(runs[0].data(), runs[1].data(), sizeof(float) * runs[0].size()) == 0);
}
