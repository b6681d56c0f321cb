#pragma once
// What farbound-export does: write a model file's PyTorch twin, and turn a PyTorch-written
// safetensors file plus an architecture (a JSON layer list) into a farbound model file.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "farbound/io/model_file.hpp"
#include "farbound/io/torch_module.hpp"

namespace examples {

// The PyTorch module file for model file `model`; the Python loads the weights from `model`.
inline void export_torch(const std::filesystem::path& model, const std::filesystem::path& python) {
  farbound::SafetensorsFile file = farbound::read_safetensors(model);
  auto loaded = farbound::load_model<float>(file);
  const auto& registry = farbound::default_layer_registry<float>();
  const std::string source = farbound::torch_module_source(registry.describe(loaded.model), registry, model.string());
  std::ofstream out(python);
  if (!out || !(out << source) || !out.flush()) throw farbound::io_error(python.string() + ": cannot write");
}

// The layer list in a JSON file (the format of a model file's "farbound.architecture").
inline nlohmann::json read_architecture(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw farbound::io_error(path.string() + ": cannot open");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw farbound::io_error(path.string() + ": not valid JSON: " + e.what());
  }
}

// A farbound model file from the architecture in `arch` and the state_dict in `tensors`
// (which must hold exactly the tensors the architecture names, with their shapes).
inline void import_torch(const std::filesystem::path& arch, const std::filesystem::path& tensors,
                         const std::filesystem::path& out) {
  const nlohmann::json layers = read_architecture(arch);
  const farbound::SafetensorsFile file = farbound::read_safetensors(tensors);
  farbound::Sequential<float> model =
      farbound::ArchitectureReader<float>(file, farbound::default_layer_registry<float>(), {}).model(layers);
  farbound::save_model(out, model, {{"farbound.imported_from", tensors.filename().string()}});
}

// Runs `work`; a file that cannot be read, written or used is a runtime failure: message, 1.
inline int run_on_files(const char* tool, const std::function<void()>& work) {
  try {
    work();
    return 0;
  } catch (const farbound::error& e) {
    std::fprintf(stderr, "%s: %s\n", tool, e.what());
    return 1;
  }
}

}  // namespace examples
