#pragma once
// Model files: a zoo model's parameters and the ModelSpec that rebuilds it, in one
// safetensors file. Parameters are stored as "param.<k>.<name>" in Sequential::parameters()
// order; the spec is JSON in the metadata entry "farbound.model_spec".
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "farbound/io/safetensors.hpp"
#include "farbound/nn/zoo.hpp"

namespace farbound {

inline std::string model_spec_to_json(const ModelSpec& s) {
  return nlohmann::json{{"arch", s.arch},       {"activation", s.activation}, {"in_channels", s.in_channels},
                        {"image_size", s.image_size}, {"num_classes", s.num_classes}, {"hidden", s.hidden},
                        {"mean", s.mean},       {"stddev", s.stddev}}
      .dump();
}

inline ModelSpec model_spec_from_json(const std::string& text, const std::string& where) {
  try {
    const auto j = nlohmann::json::parse(text);
    ModelSpec s;
    s.arch = j.at("arch").get<std::string>();
    s.activation = j.at("activation").get<std::string>();
    s.in_channels = j.at("in_channels").get<std::int64_t>();
    s.image_size = j.at("image_size").get<std::int64_t>();
    s.num_classes = j.at("num_classes").get<std::int64_t>();
    s.hidden = j.at("hidden").get<std::vector<std::int64_t>>();
    s.mean = j.at("mean").get<std::vector<double>>();
    s.stddev = j.at("stddev").get<std::vector<double>>();
    return s;
  } catch (const nlohmann::json::exception& e) {
    throw io_error(where + ": bad model spec: " + e.what());
  }
}

// Named views of every parameter value, in the order the file stores them.
template <class T>
std::vector<std::pair<std::string, TensorView<const T>>> named_parameters(Sequential<T>& model) {
  std::vector<std::pair<std::string, TensorView<const T>>> out;
  const auto params = model.parameters();
  for (std::size_t k = 0; k < params.size(); ++k)
    out.emplace_back("param." + std::to_string(k) + "." + params[k]->name, params[k]->value.view());
  return out;
}

// Writes the model (atomically). `metadata` is stored alongside (e.g. training settings).
template <class T>
void save_model(const std::filesystem::path& path, Sequential<T>& model, const ModelSpec& spec,
                std::map<std::string, std::string> metadata = {}) {
  metadata["farbound.model_spec"] = model_spec_to_json(spec);
  write_safetensors<T>(path, named_parameters(model), metadata);
}

// Copies the parameters stored in `file` into `model`, checking names and shapes.
template <class T>
void load_parameters(const SafetensorsFile& file, Sequential<T>& model) {
  const auto params = model.parameters();
  for (std::size_t k = 0; k < params.size(); ++k)
    file.load_into("param." + std::to_string(k) + "." + params[k]->name, params[k]->value);
}

template <class T>
struct LoadedModel {
  ModelSpec spec;
  Sequential<T> model;
  std::map<std::string, std::string> metadata;
};

// Rebuilds a model saved by save_model; io_error / shape_error when the file does not fit.
template <class T>
LoadedModel<T> load_model(const std::filesystem::path& path) {
  const SafetensorsFile file = read_safetensors(path);
  const auto it = file.metadata.find("farbound.model_spec");
  if (it == file.metadata.end()) throw io_error(path.string() + ": not a farbound model file (no farbound.model_spec)");
  LoadedModel<T> loaded{model_spec_from_json(it->second, path.string()), {}, file.metadata};
  try {
    loaded.model = build_model<T>(loaded.spec, 0);
  } catch (const argument_error& e) {
    throw io_error(path.string() + ": bad model spec: " + e.what());
  }
  load_parameters(file, loaded.model);
  loaded.model.set_training(false);
  return loaded;
}

}  // namespace farbound
