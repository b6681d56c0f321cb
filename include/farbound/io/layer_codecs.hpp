#pragma once
// The codecs of the library's layer types (io/architecture.hpp), and their PyTorch twins:
//
//   farbound                     file settings                         PyTorch
//   Dense                        in_features, out_features             nn.Linear
//   Conv2d                       in/out_channels, kernel, stride, pad  nn.Conv2d
//   MaxPool2d, AvgPool2d         kernel, stride                        nn.MaxPool2d, nn.AvgPool2d
//   GlobalAvgPool2d              -                                     x.mean((2, 3))
//   Flatten                      -                                     nn.Flatten
//   Dropout                      p                                     nn.Dropout
//   InstanceNorm2d               channels, affine, eps                 nn.InstanceNorm2d
//   Normalize                    channels (mean, std: tensors)         buffers "mean", "std"
//   Residual                     body (a layer list)                   x + body(x), body an nn.Sequential
//   ReLU, LeakyReLU, Sigmoid, Tanh, CELU, Softplus, Mish (their arguments)  the nn module of that name
//
// The twins without an nn class (Normalize, Residual, GlobalAvgPool2d) are defined by the
// Python file that io/torch_module.hpp writes.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "farbound/io/architecture.hpp"
#include "farbound/nn/activation.hpp"
#include "farbound/nn/conv2d.hpp"
#include "farbound/nn/dense.hpp"
#include "farbound/nn/dropout.hpp"
#include "farbound/nn/flatten.hpp"
#include "farbound/nn/instance_norm.hpp"
#include "farbound/nn/normalize.hpp"
#include "farbound/nn/pool.hpp"
#include "farbound/nn/residual.hpp"

namespace farbound {
namespace detail {

// A number as Python reads it back exactly (JSON's shortest round-trip form).
inline std::string python_number(double x) { return nlohmann::json(x).dump(); }

// The codec of layer class L from settings(const L&), build(settings, reader) and
// torch(settings); layers whose codec needs the registry or their prefix are written out.
template <class L, class T, class Settings, class Build, class Torch>
LayerCodec<T> simple_codec(std::string type, Settings settings, Build build, Torch torch) {
  LayerCodec<T> c;
  c.type = std::move(type);
  c.matches = [](const Layer<T>& l) { return dynamic_cast<const L*>(&l) != nullptr; };
  c.settings = [settings](const Layer<T>& l, const LayerRegistry<T>&) { return settings(static_cast<const L&>(l)); };
  c.build = [build](const nlohmann::json& j, ArchitectureReader<T>& reader, const std::string&) {
    return std::unique_ptr<Layer<T>>(build(j, reader));
  };
  c.torch = [torch](const nlohmann::json& j, const LayerRegistry<T>&, const std::string&) { return torch(j); };
  return c;
}

// A parameter-free layer with no settings.
template <class L, class T>
LayerCodec<T> plain_codec(std::string type, std::string torch) {
  return simple_codec<L, T>(
      std::move(type), [](const L&) { return nlohmann::json::object(); },
      [](const nlohmann::json&, ArchitectureReader<T>&) { return std::make_unique<L>(); },
      [torch](const nlohmann::json&) { return torch; });
}

template <class L, class T>
LayerCodec<T> pool_codec(std::string type) {
  return simple_codec<L, T>(
      type, [](const L& l) { return nlohmann::json{{"kernel", l.window().kernel}, {"stride", l.window().stride}}; },
      [](const nlohmann::json& j, ArchitectureReader<T>&) {
        using R = ArchitectureReader<T>;
        return std::make_unique<L>(R::count(j, "kernel"), R::count(j, "stride"));
      },
      [type](const nlohmann::json& j) {
        return "nn." + type + "(" + j.at("kernel").dump() + ", stride=" + j.at("stride").dump() + ")";
      });
}

// mean and std are tensors of the file (PyTorch buffers), read while building.
template <class T>
LayerCodec<T> normalize_codec() {
  using R = ArchitectureReader<T>;
  LayerCodec<T> c;
  c.type = "Normalize";
  c.matches = [](const Layer<T>& l) { return dynamic_cast<const Normalize<T>*>(&l) != nullptr; };
  c.settings = [](const Layer<T>& l, const LayerRegistry<T>&) {
    return nlohmann::json{{"channels", static_cast<const Normalize<T>&>(l).channels()}};
  };
  c.build = [](const nlohmann::json& j, R& reader, const std::string& prefix) -> std::unique_ptr<Layer<T>> {
    const Shape shape{R::count(j, "channels")};
    const Tensor<T> mean = reader.take(prefix + "mean", shape), stddev = reader.take(prefix + "std", shape);
    return std::make_unique<Normalize<T>>(std::vector<double>(mean.data(), mean.data() + mean.numel()),
                                          std::vector<double>(stddev.data(), stddev.data() + stddev.numel()));
  };
  c.torch = [](const nlohmann::json& j, const LayerRegistry<T>&, const std::string&) {
    return "Normalize(" + j.at("channels").dump() + ")";
  };
  c.state = [](Layer<T>& l, const std::string& prefix, const LayerRegistry<T>&, std::vector<StateEntry<T>>& out) {
    const auto& n = static_cast<const Normalize<T>&>(l);
    out.push_back({prefix + "mean", TensorView<const T>(n.mean().data(), Shape{n.channels()}), nullptr});
    out.push_back({prefix + "std", TensorView<const T>(n.stddev().data(), Shape{n.channels()}), nullptr});
  };
  return c;
}

template <class T>
LayerCodec<T> residual_codec() {
  LayerCodec<T> c;
  c.type = "Residual";
  c.matches = [](const Layer<T>& l) { return dynamic_cast<const Residual<T>*>(&l) != nullptr; };
  c.settings = [](const Layer<T>& l, const LayerRegistry<T>& r) {
    return nlohmann::json{{"body", r.describe(static_cast<const Residual<T>&>(l).body())}};
  };
  c.build = [](const nlohmann::json& j, ArchitectureReader<T>& reader, const std::string& prefix) {
    return std::unique_ptr<Layer<T>>(std::make_unique<Residual<T>>(reader.sequential(j.at("body"), prefix + "body.")));
  };
  c.torch = [](const nlohmann::json& j, const LayerRegistry<T>& r, const std::string& indent) {
    return "Residual(" + r.torch_sequential(j.at("body"), indent) + ")";
  };
  c.state = [](Layer<T>& l, const std::string& prefix, const LayerRegistry<T>& r, std::vector<StateEntry<T>>& out) {
    r.collect_state(static_cast<Residual<T>&>(l).body(), prefix + "body.", out);
  };
  return c;
}

template <class T>
LayerRegistry<T> builtin_layer_registry() {
  using R = ArchitectureReader<T>;
  using json = nlohmann::json;
  LayerRegistry<T> r;
  r.add(simple_codec<Dense<T>, T>(
      "Dense", [](const Dense<T>& l) { return json{{"in_features", l.in_features()}, {"out_features", l.out_features()}}; },
      [](const json& j, R& reader) {
        const std::int64_t in = R::count(j, "in_features"), out = R::count(j, "out_features");
        reader.reserve({out, in + 1});
        return std::make_unique<Dense<T>>(in, out);
      },
      [](const json& j) { return "nn.Linear(" + j.at("in_features").dump() + ", " + j.at("out_features").dump() + ")"; }));
  r.add(simple_codec<Conv2d<T>, T>(
      "Conv2d",
      [](const Conv2d<T>& l) {
        return json{{"in_channels", l.in_channels()}, {"out_channels", l.out_channels()}, {"kernel", l.window().kernel},
                    {"stride", l.window().stride},    {"padding", l.window().padding}};
      },
      [](const json& j, R& reader) {
        const std::int64_t in = R::count(j, "in_channels"), out = R::count(j, "out_channels"), k = R::count(j, "kernel");
        reader.reserve({out, in, k, k});
        reader.reserve({out});
        return std::make_unique<Conv2d<T>>(in, out, k, R::count(j, "stride"), R::count(j, "padding"));
      },
      [](const json& j) {
        return "nn.Conv2d(" + j.at("in_channels").dump() + ", " + j.at("out_channels").dump() + ", " +
               j.at("kernel").dump() + ", stride=" + j.at("stride").dump() + ", padding=" + j.at("padding").dump() + ")";
      }));
  r.add(pool_codec<MaxPool2d<T>, T>("MaxPool2d"));
  r.add(pool_codec<AvgPool2d<T>, T>("AvgPool2d"));
  r.add(plain_codec<GlobalAvgPool2d<T>, T>("GlobalAvgPool2d", "GlobalAvgPool2d()"));
  r.add(plain_codec<Flatten<T>, T>("Flatten", "nn.Flatten()"));
  r.add(simple_codec<Dropout<T>, T>(
      "Dropout", [](const Dropout<T>& l) { return json{{"p", l.p()}}; },
      [](const json& j, R&) { return std::make_unique<Dropout<T>>(R::number(j, "p")); },
      [](const json& j) { return "nn.Dropout(" + python_number(j.at("p").get<double>()) + ")"; }));
  r.add(simple_codec<InstanceNorm2d<T>, T>(
      "InstanceNorm2d",
      [](const InstanceNorm2d<T>& l) { return json{{"channels", l.channels()}, {"affine", l.affine()}, {"eps", l.eps()}}; },
      [](const json& j, R& reader) {
        const std::int64_t channels = R::count(j, "channels");
        const bool affine = j.at("affine").get<bool>();
        if (affine) reader.reserve({2, channels});
        return std::make_unique<InstanceNorm2d<T>>(channels, affine, R::number(j, "eps"));
      },
      [](const json& j) {
        return "nn.InstanceNorm2d(" + j.at("channels").dump() + ", eps=" + python_number(j.at("eps").get<double>()) +
               ", affine=" + (j.at("affine").get<bool>() ? "True" : "False") + ")";
      }));
  r.add(normalize_codec<T>());
  r.add(residual_codec<T>());
  r.add(plain_codec<ReLU<T>, T>("ReLU", "nn.ReLU()"));
  r.add(plain_codec<Sigmoid<T>, T>("Sigmoid", "nn.Sigmoid()"));
  r.add(plain_codec<Tanh<T>, T>("Tanh", "nn.Tanh()"));
  r.add(plain_codec<Mish<T>, T>("Mish", "nn.Mish()"));
  r.add(simple_codec<LeakyReLU<T>, T>(
      "LeakyReLU", [](const LeakyReLU<T>& l) { return json{{"negative_slope", double(l.op().slope)}}; },
      [](const json& j, R&) { return std::make_unique<LeakyReLU<T>>(R::number(j, "negative_slope")); },
      [](const json& j) { return "nn.LeakyReLU(" + python_number(j.at("negative_slope").get<double>()) + ")"; }));
  r.add(simple_codec<CELU<T>, T>(
      "CELU", [](const CELU<T>& l) { return json{{"alpha", double(l.op().alpha)}}; },
      [](const json& j, R&) { return std::make_unique<CELU<T>>(R::number(j, "alpha")); },
      [](const json& j) { return "nn.CELU(" + python_number(j.at("alpha").get<double>()) + ")"; }));
  r.add(simple_codec<Softplus<T>, T>(
      "Softplus",
      [](const Softplus<T>& l) { return json{{"beta", double(l.op().beta)}, {"threshold", double(l.op().threshold)}}; },
      [](const json& j, R&) { return std::make_unique<Softplus<T>>(R::number(j, "beta"), R::number(j, "threshold")); },
      [](const json& j) {
        return "nn.Softplus(beta=" + python_number(j.at("beta").get<double>()) +
               ", threshold=" + python_number(j.at("threshold").get<double>()) + ")";
      }));
  return r;
}

}  // namespace detail

// The codecs of every layer type the library defines. Copy it and add a codec to save and
// load models with a layer type of your own.
template <class T>
const LayerRegistry<T>& default_layer_registry() {
  static const LayerRegistry<T> registry = detail::builtin_layer_registry<T>();
  return registry;
}

}  // namespace farbound
