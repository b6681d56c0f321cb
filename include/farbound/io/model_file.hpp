#pragma once
// Model files: one safetensors file holding a model's tensors under the state_dict keys of
// its PyTorch twin ("0.mean", "1.weight", "4.body.0.bias", ...) and its architecture, a JSON
// layer list (io/architecture.hpp), in the metadata entry "farbound.architecture". So
// load_model rebuilds any Sequential the layer registry knows, and PyTorch loads the same
// file with twin.load_state_dict(safetensors.torch.load_file(path), strict=True)
// (farbound-export writes the twin; docs/interop.md).
//
// Files written before the architecture entry existed (zoo models only) hold the ModelSpec
// in "farbound.model_spec" and the parameters as "param.<k>.<name>" in parameters() order;
// they still load.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "farbound/io/architecture.hpp"
#include "farbound/io/layer_codecs.hpp"
#include "farbound/io/safetensors.hpp"
#include "farbound/nn/zoo.hpp"

namespace farbound {

// The zoo spec as the JSON object stored in model files' metadata.
inline std::string model_spec_to_json(const ModelSpec& s) {
  return nlohmann::json{{"arch", s.arch},       {"activation", s.activation}, {"in_channels", s.in_channels},
                        {"image_size", s.image_size}, {"num_classes", s.num_classes}, {"hidden", s.hidden},
                        {"mean", s.mean},       {"stddev", s.stddev}}
      .dump();
}

inline ModelSpec model_spec_from_json(const std::string& text, const std::string& where) {
  // Sizes are whole numbers: a fraction or a negative value is a bad file, never truncated.
  const auto size = [&](const nlohmann::json& v, const char* key) {
    if (!v.is_number_integer() || v.get<std::int64_t>() < 0)
      throw io_error(where + ": bad model spec: " + key + " must be a non-negative integer, got " + v.dump());
    return v.get<std::int64_t>();
  };
  try {
    const auto j = nlohmann::json::parse(text);
    ModelSpec s;
    s.arch = j.at("arch").get<std::string>();
    s.activation = j.at("activation").get<std::string>();
    s.in_channels = size(j.at("in_channels"), "in_channels");
    s.image_size = size(j.at("image_size"), "image_size");
    s.num_classes = size(j.at("num_classes"), "num_classes");
    if (!j.at("hidden").is_array()) throw io_error(where + ": bad model spec: hidden must be an array of widths");
    for (const auto& h : j.at("hidden")) s.hidden.push_back(size(h, "hidden"));
    s.mean = j.at("mean").get<std::vector<double>>();
    s.stddev = j.at("stddev").get<std::vector<double>>();
    return s;
  } catch (const nlohmann::json::exception& e) {
    throw io_error(where + ": bad model spec: " + e.what());
  }
}

// Every tensor of the model (parameters and buffers) under its state_dict key.
template <class T>
std::vector<std::pair<std::string, TensorView<const T>>> state_dict(
    Sequential<T>& model, const LayerRegistry<T>& registry = default_layer_registry<T>()) {
  std::vector<StateEntry<T>> state;
  registry.collect_state(model, "", state);
  std::vector<std::pair<std::string, TensorView<const T>>> out;
  for (const auto& e : state) out.emplace_back(e.key, e.value);
  return out;
}

// Copies the stored parameters into an existing model of the same architecture (a
// checkpoint's model); shape_error / io_error when a tensor is missing or misshapen.
template <class T>
void load_parameters(const SafetensorsFile& file, Sequential<T>& model,
                     const LayerRegistry<T>& registry = default_layer_registry<T>()) {
  std::vector<StateEntry<T>> state;
  registry.collect_state(model, "", state);
  for (const auto& e : state)
    if (e.parameter) file.load_into(e.key, e.parameter->value);
}

// Writes the model and its architecture (atomically); `metadata` is stored alongside (e.g.
// training settings). argument_error when a layer's type has no codec in `registry`.
template <class T>
void save_model(const std::filesystem::path& path, Sequential<T>& model, std::map<std::string, std::string> metadata = {},
                const LayerRegistry<T>& registry = default_layer_registry<T>()) {
  metadata["farbound.architecture"] = registry.describe(model).dump();
  write_safetensors<T>(path, state_dict(model, registry), metadata);
}

// A zoo model: the spec is stored too, for readers that want to know it.
template <class T>
void save_model(const std::filesystem::path& path, Sequential<T>& model, const ModelSpec& spec,
                std::map<std::string, std::string> metadata = {}) {
  metadata["farbound.model_spec"] = model_spec_to_json(spec);
  save_model(path, model, std::move(metadata));
}

// A model read from a file: the layers, the zoo spec when it has one, the file's metadata.
template <class T>
struct LoadedModel {
  std::optional<ModelSpec> spec;  // for zoo models
  // The rebuilt layers with their weights.
  Sequential<T> model;
  // The file's string metadata.
  std::map<std::string, std::string> metadata;
};

namespace detail {

// Refuses a legacy spec whose parameters the file could not hold before building it: every
// width is the extent of a stored tensor, and an MLP's weights are stored whole.
inline void require_spec_fits(const ModelSpec& s, std::int64_t stored, const std::string& where) {
  const auto fail = [&] { throw io_error(where + ": the model spec needs more numbers than the file stores"); };
  std::vector<std::int64_t> widths{s.in_channels};
  if (s.arch == "mlp") {
    if (s.image_size < 1 || s.image_size > stored || s.in_channels > stored / s.image_size / s.image_size) fail();
    widths[0] *= s.image_size * s.image_size;
    widths.insert(widths.end(), s.hidden.begin(), s.hidden.end());
  }
  widths.push_back(s.num_classes);
  std::int64_t total = 0;
  for (std::size_t i = 0; i < widths.size(); ++i) {
    if (widths[i] < 1 || widths[i] > stored) fail();
    if (s.arch == "mlp" && i > 0) {
      if (widths[i - 1] > stored / widths[i]) fail();
      total += widths[i - 1] * widths[i];
      if (total > stored) fail();
    }
  }
}

template <class T>
Sequential<T> legacy_model(const SafetensorsFile& file, const ModelSpec& spec, ModelLoadOptions options) {
  ArchitectureReader<T> reader(file, default_layer_registry<T>(), options);
  std::int64_t stored = 0;
  for (const auto& [key, entry] : file.tensors) stored += entry.shape.numel();
  require_spec_fits(spec, stored, file.name);
  Sequential<T> model;
  try {
    model = build_model<T>(spec, 0);
  } catch (const argument_error& e) {
    throw io_error(file.name + ": bad model spec: " + e.what());
  }
  const auto params = model.parameters();
  for (std::size_t k = 0; k < params.size(); ++k)
    params[k]->value = reader.take("param." + std::to_string(k) + "." + params[k]->name, params[k]->value.shape());
  reader.require_all_taken();
  return model;
}

}  // namespace detail

// The model a parsed model file holds, in evaluation mode; io_error naming the file and the
// layer or tensor when the file does not fit its architecture.
template <class T>
LoadedModel<T> load_model(const SafetensorsFile& file, ModelLoadOptions options = {},
                          const LayerRegistry<T>& registry = default_layer_registry<T>()) {
  LoadedModel<T> loaded{{}, {}, file.metadata};
  const auto spec = file.metadata.find("farbound.model_spec");
  if (spec != file.metadata.end()) loaded.spec = model_spec_from_json(spec->second, file.name);
  const auto arch = file.metadata.find("farbound.architecture");
  if (arch != file.metadata.end()) {
    nlohmann::json layers;
    try {
      layers = nlohmann::json::parse(arch->second);
    } catch (const nlohmann::json::exception& e) {
      throw io_error(file.name + ": farbound.architecture is not valid JSON: " + e.what());
    }
    loaded.model = ArchitectureReader<T>(file, registry, options).model(layers);
  } else if (loaded.spec) {
    loaded.model = detail::legacy_model<T>(file, *loaded.spec, options);
  } else {
    throw io_error(file.name + ": not a farbound model file (no farbound.architecture)");
  }
  loaded.model.set_training(false);
  return loaded;
}

// Reads a model file written by save_model and rebuilds its layers with `registry`.
template <class T>
LoadedModel<T> load_model(const std::filesystem::path& path, ModelLoadOptions options = {},
                          const LayerRegistry<T>& registry = default_layer_registry<T>()) {
  return load_model<T>(read_safetensors(path), options, registry);
}

}  // namespace farbound
