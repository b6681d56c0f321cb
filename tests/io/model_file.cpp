#include "farbound/io/model_file.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

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
  CHECK_THROWS_WITH(load_model<float>(path), Catch::Contains("needs more numbers than the file stores"));
  const Tensor<float> enough({100}, 1.0f);
  write_safetensors<float>(path, {{"x", enough.view()}}, {{"farbound.model_spec", model_spec_to_json(spec)}});
  CHECK_THROWS_WITH(load_model<float>(path), Catch::Contains("missing tensor 'param.0.weight'"));
  std::filesystem::remove(path);
}

namespace {

// Every layer type the library defines, in one small model for [N, 3, 8, 8] inputs.
Sequential<float> every_layer_model() {
  Sequential<float> m;
  m.add<Normalize<float>>(std::vector<double>{0.1, 0.2, 0.3}, std::vector<double>{0.5, 0.6, 0.7});
  m.add<Conv2d<float>>(3, 4, 3, 1, 1);
  m.add<InstanceNorm2d<float>>(4, true);
  m.add<LeakyReLU<float>>(0.2);
  Sequential<float> body;
  body.add<Conv2d<float>>(4, 4, 3, 1, 1);
  body.add<InstanceNorm2d<float>>(4, false, 1e-3);
  body.add<CELU<float>>(0.5);
  m.add<Residual<float>>(std::move(body));
  m.add<MaxPool2d<float>>(2);
  m.add<AvgPool2d<float>>(2, 1);
  m.add<Softplus<float>>(2.0, 10.0);
  m.add<Mish<float>>();
  m.add<Dropout<float>>(0.25);
  m.add<GlobalAvgPool2d<float>>();
  m.add<Flatten<float>>();
  m.add<Dense<float>>(4, 5);
  m.add<Tanh<float>>();
  m.add<Sigmoid<float>>();
  m.add<ReLU<float>>();
  m.add<Dense<float>>(5, 3);
  m.reset_parameters(3);
  m.set_training(false);
  return m;
}

std::filesystem::path model_test_path(const char* name) { return std::filesystem::temp_directory_path() / name; }

// A copy of a model file's tensors and metadata, to edit and write back.
struct EditableModelFile {
  std::map<std::string, Tensor<float>> tensors;
  std::map<std::string, std::string> metadata;

  explicit EditableModelFile(const std::filesystem::path& path) {
    const SafetensorsFile f = read_safetensors(path);
    for (const auto& [key, entry] : f.tensors) tensors.emplace(key, f.get<float>(key));
    metadata = f.metadata;
  }
  void write(const std::filesystem::path& path) const {
    std::vector<std::pair<std::string, TensorView<const float>>> views;
    for (const auto& [key, t] : tensors) views.emplace_back(key, t.view());
    write_safetensors<float>(path, views, metadata);
  }
};

}  // namespace

TEST_CASE("any Sequential saves under PyTorch state_dict names and loads back", "[model_file]") {
  const auto path = model_test_path("farbound_test_every_layer.safetensors");
  auto model = every_layer_model();
  save_model(path, model);
  const SafetensorsFile f = read_safetensors(path);
  for (const char* key : {"0.mean", "0.std", "1.weight", "1.bias", "2.weight", "2.bias", "4.body.0.weight",
                          "4.body.0.bias", "12.weight", "16.bias"})
    CHECK(f.tensors.contains(key));
  CHECK(f.tensors.size() == 12);

  auto loaded = load_model<float>(path);
  CHECK_FALSE(loaded.spec);
  CHECK(loaded.model.describe() == model.describe());
  CHECK_FALSE(loaded.model.training());
  Tensor<float> x({2, 3, 8, 8});
  for (std::int64_t i = 0; i < x.numel(); ++i) x[i] = float(i % 17) / 17.0f;
  const Tensor<float> y = Tensor<float>::from_view(model.forward(x.view()));
  const auto y2 = loaded.model.forward(x.view());
  for (std::int64_t i = 0; i < y.numel(); ++i) CHECK(y2[i] == y[i]);
  std::filesystem::remove(path);
}

TEST_CASE("a model file written before the architecture entry still loads", "[model_file]") {
  const auto path = std::filesystem::path(__FILE__).parent_path() / "data" / "zoo_mlp_v0.safetensors";
  auto loaded = load_model<float>(path);
  REQUIRE(loaded.spec);
  CHECK(loaded.spec->hidden == std::vector<std::int64_t>{2});
  CHECK(loaded.model.describe() == build_model<float>(*loaded.spec, 0).describe());
  const SafetensorsFile f = read_safetensors(path);
  const auto params = loaded.model.parameters();
  REQUIRE(params.size() == 4);
  for (std::size_t k = 0; k < params.size(); ++k) {
    const Tensor<float> stored = f.get<float>("param." + std::to_string(k) + "." + params[k]->name);
    for (std::int64_t i = 0; i < stored.numel(); ++i) REQUIRE(params[k]->value[i] == stored[i]);
  }
}

TEST_CASE("model files that do not fit their architecture are io errors naming the tensor or layer", "[model_file][errors]") {
  const auto good = model_test_path("farbound_test_good_model.safetensors");
  const auto bad = model_test_path("farbound_test_bad_model.safetensors");
  auto model = every_layer_model();
  save_model(good, model);
  const auto refused = [&](const EditableModelFile& e, const std::string& words) {
    e.write(bad);
    CHECK_THROWS_AS(load_model<float>(bad), io_error);
    CHECK_THROWS_WITH(load_model<float>(bad), Catch::Contains(words));
  };
  EditableModelFile e(good);
  e.tensors.at("12.weight") = Tensor<float>({5, 3}, 0.0f);
  refused(e, "tensor '12.weight' has shape [5, 3], the architecture needs [5, 4]");
  e = EditableModelFile(good);
  e.tensors.erase("4.body.0.bias");
  refused(e, "missing tensor '4.body.0.bias'");
  e = EditableModelFile(good);
  e.tensors.emplace("2.running_mean", Tensor<float>({4}, 0.0f));
  refused(e, "tensor '2.running_mean' is not used");
  const auto edit_architecture = [&](const std::string& from, const std::string& to) {
    e = EditableModelFile(good);
    std::string& arch = e.metadata.at("farbound.architecture");
    arch.replace(arch.find(from), from.size(), to);
  };
  edit_architecture("\"Flatten\"", "\"BatchNorm2d\"");
  refused(e, "layer 11: unknown layer type 'BatchNorm2d'");
  edit_architecture("\"out_features\":3", "\"out_features\":3000000");
  refused(e, "layer 16: Dense: its parameters need more numbers than the file stores");
  e = EditableModelFile(good);
  e.metadata.at("farbound.architecture") = R"([{"type":"MaxPool2d","kernel":-2,"stride":1}])";
  e.tensors.clear();
  refused(e, "layer 0: MaxPool2d: setting 'kernel' must be an integer");

  e = EditableModelFile(good);
  e.tensors.at("4.body.0.weight")[7] = std::numeric_limits<float>::quiet_NaN();
  refused(e, "tensor '4.body.0.weight' holds");
  CHECK(std::isnan(load_model<float>(bad, ModelLoadOptions{.allow_non_finite = true}).model.parameters()[4]->value[7]));
  std::filesystem::remove(good);
  std::filesystem::remove(bad);
}

TEST_CASE("a model spec's sizes are whole numbers, never truncated", "[model_file][errors]") {
  const std::string good = R"({"arch":"mlp","activation":"tanh","in_channels":1,"image_size":4,"num_classes":3,)"
                           R"("hidden":[5],"mean":[0.5],"stddev":[0.25]})";
  CHECK(farbound::model_spec_from_json(good, "f").hidden == std::vector<std::int64_t>{5});
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"\"image_size\":4", "\"image_size\":4.5"}, {"\"num_classes\":3", "\"num_classes\":-3"},
           {"\"hidden\":[5]", "\"hidden\":[1.9]"}, {"\"hidden\":[5]", "\"hidden\":5"}}) {
    std::string bad = good;
    bad.replace(bad.find(from), from.size(), to);
    CHECK_THROWS_AS(farbound::model_spec_from_json(bad, "f"), farbound::io_error);
  }
}
