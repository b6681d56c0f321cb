#pragma once
// A model's architecture as data: each layer type has a LayerCodec that writes the layer as
// a JSON object {"type": "Conv2d", <constructor arguments>}, rebuilds it from that object,
// names its tensors as PyTorch's state_dict would for the twin module, and spells that twin
// in Python. A LayerRegistry holds the codecs (io/layer_codecs.hpp: the built-in ones); a
// researcher's own layer type joins by adding a codec to a copy of the registry.
//
// State names follow torch.nn.Sequential: the layer index, then the tensor's own name
// ("3.weight"); a composite layer prefixes its children ("4.body.0.bias"), as a PyTorch
// module holding an nn.Sequential attribute named "body" would.
#include <cmath>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "farbound/core/error.hpp"
#include "farbound/io/safetensors.hpp"
#include "farbound/nn/layer.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound {

// One tensor of a model's state under its state_dict key. `parameter` is null for buffers
// (Normalize's mean and std): they are fixed when the layer is built, not trained.
template <class T>
struct StateEntry {
  // The tensor's name in the file (state_dict key).
  std::string key;
  // Its values.
  TensorView<const T> value;
  // The parameter it loads into (null for buffers that are only checked).
  Parameter<T>* parameter;
};

// The layer types a model file may name, each with its LayerCodec.
template <class T>
class LayerRegistry;
template <class T>
class ArchitectureReader;

// How one layer type is written to and rebuilt from a model file, and written as PyTorch.
template <class T>
struct LayerCodec {
  // The registry type the codec's functions receive.
  using Registry = LayerRegistry<T>;
  std::string type;  // the name in the file, e.g. "Conv2d"
  // Whether a layer is of this codec's type.
  std::function<bool(const Layer<T>&)> matches;
  // The constructor arguments of a matching layer.
  std::function<nlohmann::json(const Layer<T>&, const Registry&)> settings;
  // The layer for stored settings; `prefix` is the layer's state_dict prefix ("3.").
  std::function<std::unique_ptr<Layer<T>>(const nlohmann::json&, ArchitectureReader<T>&, const std::string& prefix)> build;
  // The PyTorch twin as a Python expression; `indent` starts the lines after the first.
  std::function<std::string(const nlohmann::json&, const Registry&, const std::string& indent)> torch;
  // Appends the layer's state entries; when empty, its parameters under their own names.
  std::function<void(Layer<T>&, const std::string& prefix, const Registry&, std::vector<StateEntry<T>>&)> state{};
};

// The layer types a model file may name, each with its LayerCodec.
template <class T>
class LayerRegistry {
 public:
  // Adds a codec, replacing any codec of the same type name.
  void add(LayerCodec<T> codec) {
    for (auto& c : codecs_)
      if (c.type == codec.type) {
        c = std::move(codec);
        return;
      }
    codecs_.push_back(std::move(codec));
  }

  // The codec for a layer, or null.
  const LayerCodec<T>* match(const Layer<T>& layer) const {
    for (const auto& c : codecs_)
      if (c.matches(layer)) return &c;
    return nullptr;
  }
  // The codec for a layer; argument_error when no codec knows its type.
  const LayerCodec<T>& codec_of(const Layer<T>& layer) const {
    if (const LayerCodec<T>* c = match(layer)) return *c;
    throw argument_error("no layer codec for " + layer.describe() + "; add one to the LayerRegistry");
  }
  // The codec named `type`, or null.
  const LayerCodec<T>* find(const std::string& type) const {
    for (const auto& c : codecs_)
      if (c.type == type) return &c;
    return nullptr;
  }

  // The layer list of a model: [{"type": ..., settings...}, ...].
  nlohmann::json describe(const Sequential<T>& model) const {
    nlohmann::json layers = nlohmann::json::array();
    for (std::size_t i = 0; i < model.size(); ++i) {
      const LayerCodec<T>& c = codec_of(model.layer(i));
      nlohmann::json j = c.settings(model.layer(i), *this);
      j["type"] = c.type;
      layers.push_back(std::move(j));
    }
    return layers;
  }

  // Appends every tensor of the model under its state_dict key, `prefix` first. Layers of
  // unregistered types name their parameters as PyTorch names a module's own parameters.
  void collect_state(Sequential<T>& model, const std::string& prefix, std::vector<StateEntry<T>>& out) const {
    for (std::size_t i = 0; i < model.size(); ++i) {
      Layer<T>& layer = model.layer(i);
      const std::string p = prefix + std::to_string(i) + ".";
      const LayerCodec<T>* c = match(layer);
      if (c && c->state) {
        c->state(layer, p, *this, out);
        continue;
      }
      for (Parameter<T>* param : layer.parameters()) out.push_back({p + param->name, param->value.view(), param});
    }
  }

  // nn.Sequential(...) for a layer list written by describe, one layer per line.
  std::string torch_sequential(const nlohmann::json& layers, const std::string& indent) const {
    std::string s = "nn.Sequential(\n";
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const std::string type = layers[i].at("type").get<std::string>();
      const LayerCodec<T>* c = find(type);
      if (!c) throw argument_error("no layer codec for type '" + type + "'");
      s += indent + "    " + c->torch(layers[i], *this, indent + "    ") + ",  # " + std::to_string(i) + "\n";
    }
    return s + indent + ")";
  }

 private:
  std::vector<LayerCodec<T>> codecs_;
};

// Loading options. allow_non_finite keeps NaN or Inf weights (to inspect a diverged run);
// by default they are refused with an error naming the tensor.
struct ModelLoadOptions {
  // Accept NaN or infinite weights instead of refusing the file.
  bool allow_non_finite = false;
};

// Builds a model from a layer list and the tensors of a safetensors file, taking each
// tensor at most once, so that a file with tensors the architecture does not use is
// refused. Every problem is an io_error naming the file, the layer or the tensor. The
// layers' parameter sizes are charged against the elements the file stores before any is
// allocated: a forged architecture cannot make the reader allocate more than the file backs.
template <class T>
class ArchitectureReader {
 public:
  static constexpr int max_depth = 16;  // nesting of composite layers

  // A reader of the layers stored in `file`, building them with `registry`.
  ArchitectureReader(const SafetensorsFile& file, const LayerRegistry<T>& registry, ModelLoadOptions options)
      : file_(file), registry_(registry), options_(options) {
    for (const auto& [key, entry] : file.tensors) budget_ += entry.shape.numel();
  }

  // The model for a layer list, with every parameter loaded; io_error when the list, a
  // layer's settings or a tensor does not fit, or when a stored tensor is left over.
  Sequential<T> model(const nlohmann::json& layers) {
    Sequential<T> m = sequential(layers, "");
    std::vector<StateEntry<T>> state;
    registry_.collect_state(m, "", state);
    for (const auto& e : state)
      if (e.parameter) e.parameter->value = take(e.key, e.parameter->value.shape());
    require_all_taken();
    return m;
  }

  // io_error naming the first stored tensor that nothing took.
  void require_all_taken() const {
    for (const auto& [key, entry] : file_.tensors)
      if (!taken_.contains(key)) throw io_error(file_.name + ": tensor '" + key + "' is not used by the architecture");
  }

  // The layers of a list, built by their codecs; `prefix` is their state_dict prefix.
  Sequential<T> sequential(const nlohmann::json& layers, const std::string& prefix) {
    if (!layers.is_array()) fail_layer(prefix, "the layer list is not a JSON array");
    if (++depth_ > max_depth) fail_layer(prefix, "layers nested deeper than " + std::to_string(max_depth));
    Sequential<T> m;
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const std::string p = prefix + std::to_string(i) + ".";
      const nlohmann::json& j = layers[i];
      if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) fail_layer(p, "needs a string \"type\"");
      const std::string type = j["type"].get<std::string>();
      const LayerCodec<T>* c = registry_.find(type);
      if (!c) fail_layer(p, "unknown layer type '" + type + "'");
      try {
        m.append(c->build(j, *this, p));
      } catch (const io_error&) {
        throw;  // already names the file and the layer or tensor
      } catch (const nlohmann::json::exception& e) {
        fail_layer(p, type + ": " + e.what());
      } catch (const error& e) {
        fail_layer(p, type + ": " + e.what());
      }
    }
    --depth_;
    return m;
  }

  // Integer setting `key`, in [0, 2^31).
  static std::int64_t count(const nlohmann::json& settings, const char* key) {
    const nlohmann::json& v = settings.at(key);
    if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() >= (std::int64_t(1) << 31))
      throw argument_error(std::string("setting '") + key + "' must be an integer in [0, 2^31), got " + v.dump());
    return v.get<std::int64_t>();
  }
  // Number setting `key`.
  static double number(const nlohmann::json& settings, const char* key) {
    const nlohmann::json& v = settings.at(key);
    if (!v.is_number()) throw argument_error(std::string("setting '") + key + "' must be a number, got " + v.dump());
    return v.get<double>();
  }

  // Charges a layer's parameter elements (the product of `factors`) against the stored
  // elements; argument_error when the file cannot hold them.
  void reserve(std::initializer_list<std::int64_t> factors) {
    std::int64_t n = 1;
    for (std::int64_t f : factors) {
      if (f != 0 && n > budget_ / f) throw argument_error("its parameters need more numbers than the file stores");
      n *= f;
    }
    budget_ -= n;
  }

  // Stored tensor `key`, which must have `shape` and, unless allowed, finite values.
  Tensor<T> take(const std::string& key, const Shape& shape) {
    const auto it = file_.tensors.find(key);
    if (it == file_.tensors.end()) throw io_error(file_.name + ": missing tensor '" + key + "'");
    if (!(it->second.shape == shape))
      throw io_error(file_.name + ": tensor '" + key + "' has shape " + it->second.shape.to_string() +
                     ", the architecture needs " + shape.to_string());
    Tensor<T> t = file_.get<T>(key);
    if (!options_.allow_non_finite)
      for (std::int64_t i = 0; i < t.numel(); ++i)
        if (!std::isfinite(t[i]))
          throw io_error(file_.name + ": tensor '" + key + "' holds " + std::to_string(t[i]) + " at element " +
                         std::to_string(i) + " (non-finite weights are refused unless allow_non_finite)");
    taken_.insert(key);
    return t;
  }

  // The layer types it builds with.
  const LayerRegistry<T>& registry() const { return registry_; }

 private:
  [[noreturn]] void fail_layer(const std::string& prefix, const std::string& what) const {
    const std::string at = prefix.empty() ? "the model" : "layer " + prefix.substr(0, prefix.size() - 1);
    throw io_error(file_.name + ": " + at + ": " + what);
  }

  const SafetensorsFile& file_;
  const LayerRegistry<T>& registry_;
  ModelLoadOptions options_;
  std::set<std::string> taken_;
  std::int64_t budget_ = 0;  // stored elements not yet charged to a layer
  int depth_ = 0;
};

}  // namespace farbound
