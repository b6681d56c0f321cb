#include "farbound/io/model_file.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace farbound;

TEST_CASE("a saved model loads back with the same outputs", "[model_file]") {
  const auto path = std::filesystem::temp_directory_path() / "farbound_test_model.safetensors";
  ModelSpec spec{.arch = "mlp", .activation = "tanh", .in_channels = 1, .image_size = 3, .num_classes = 4, .hidden = {5}};
  auto model = build_model<float>(spec, 11);
  model.set_training(false);
  save_model(path, model, spec, {{"note", "test"}});

  auto loaded = load_model<float>(path);
  REQUIRE(loaded.spec);
  CHECK(loaded.spec->hidden == spec.hidden);
  CHECK(loaded.metadata.at("note") == "test");
  Tensor<float> x({2, 1, 3, 3}, 0.3f);
  const Tensor<float> y = Tensor<float>::from_view(model.forward(x.view()));
  const auto y2 = loaded.model.forward(x.view());
  for (int i = 0; i < 8; ++i) CHECK(y2[i] == y[i]);
  std::filesystem::remove(path);
}

TEST_CASE("files that are not models are io errors", "[model_file][errors]") {
  const auto path = std::filesystem::temp_directory_path() / "farbound_test_notmodel.safetensors";
  Tensor<float> t({2}, 1.0f);
  write_safetensors<float>(path, {{"x", t.view()}});
  CHECK_THROWS_WITH(load_model<float>(path), Catch::Contains("not a farbound model"));
  write_safetensors<float>(path, {{"x", t.view()}}, {{"farbound.model_spec", R"({"arch":"lenet"})"}});
  CHECK_THROWS_WITH(load_model<float>(path), Catch::Contains("bad model spec"));
  ModelSpec spec{.arch = "mlp", .image_size = 2, .hidden = {3}};
  write_safetensors<float>(path, {{"x", t.view()}}, {{"farbound.model_spec", model_spec_to_json(spec)}});
  CHECK_THROWS_WITH(load_model<float>(path), Catch::Contains("no tensor named"));
  std::filesystem::remove(path);
}
