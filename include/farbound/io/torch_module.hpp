#pragma once
// The PyTorch twin of a model as a Python source file: build() returns the nn.Sequential
// whose state_dict keys are the model file's tensor names, load(path) builds it and loads
// the file (strict), in evaluation mode, and ARCHITECTURE is the layer list (what
// farbound-export --import reads back). It needs only torch: when the safetensors package
// is absent, a ten-line reader stands in for safetensors.torch.load_file.
#include <string>

#include <nlohmann/json.hpp>

#include "farbound/io/architecture.hpp"

namespace farbound {

// The Python source of a torch.nn.Sequential equal to the architecture `layers`, loading `weights_file`.
template <class T>
std::string torch_module_source(const nlohmann::json& layers, const LayerRegistry<T>& registry,
                                const std::string& weights_file) {
  const std::string path_literal = nlohmann::json(weights_file).dump();  // a valid Python string literal too
  std::string s = R"(# The PyTorch twin of a farbound model, written by farbound-export.
#   model = load()" + path_literal + R"()   # nn.Sequential in eval mode; inputs as farbound's (raw [0, 1] pixels)
import json
import struct

import torch
from torch import nn


class Normalize(nn.Module):
    """(x - mean[c]) / std[c] along axis 1; one mean and std apply to every channel."""

    def __init__(self, channels):
        super().__init__()
        self.register_buffer("mean", torch.zeros(channels))
        self.register_buffer("std", torch.ones(channels))

    def forward(self, x):
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return (x - self.mean.view(shape)) / self.std.view(shape)


class Residual(nn.Module):
    """x + body(x)."""

    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):
        return x + self.body(x)


class GlobalAvgPool2d(nn.Module):
    """[N, C, H, W] -> [N, C], the mean of each plane."""

    def forward(self, x):
        return x.mean((2, 3))


ARCHITECTURE = json.loads()" + nlohmann::json(layers.dump()).dump() + R"()


def build():
    return )" + registry.torch_sequential(layers, "") + R"(


def load_tensors(path):
    """safetensors.torch.load_file(path), without the safetensors package if need be."""
    try:
        from safetensors.torch import load_file
        return load_file(path)
    except ImportError:
        pass
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    dtypes = {"F32": torch.float32, "F64": torch.float64}
    tensors = {}
    for key, entry in header.items():
        begin, end = (8 + n + offset for offset in entry["data_offsets"])
        flat = torch.frombuffer(bytearray(data[begin:end]), dtype=dtypes[entry["dtype"]]) if end > begin else torch.zeros(0, dtype=dtypes[entry["dtype"]])
        tensors[key] = flat.reshape(entry["shape"])
    return tensors


def load(path=)" + path_literal + R"():
    model = build()
    model.load_state_dict(load_tensors(path), strict=True)
    return model.eval()
)";
  return s;
}

}  // namespace farbound
