// The farbound side of tests/interop/roundtrip.py, in float32 as models are used.
//   probe make ARCH ACTIVATION CHANNELS OUT.safetensors
//       a zoo model for 32x32 inputs (seed 1, per-channel mean 0.4 and std 0.3) as a model file;
//   probe eval MODEL.safetensors INPUTS.safetensors OUT.safetensors
//       INPUTS holds x [N, C, 32, 32] and y [N] (class indices, stored as floats); OUT gets
//       the logits and "grad", d(mean cross-entropy)/dx.
#include <cstdio>
#include <string>
#include <vector>

#include "farbound/io/model_file.hpp"
#include "farbound/nn/loss.hpp"

int main(int argc, char** argv) {
  using namespace farbound;
  const std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.size() == 5 && args[0] == "make") {
      const std::int64_t channels = std::stoll(args[3]);
      const ModelSpec spec{.arch = args[1], .activation = args[2], .in_channels = channels, .image_size = 32,
                           .num_classes = 10, .hidden = {32, 16}, .mean = std::vector<double>(channels, 0.4),
                           .stddev = std::vector<double>(channels, 0.3)};
      Sequential<float> model = build_model<float>(spec, 1);
      save_model(args[4], model, spec);
      return 0;
    }
    if (args.size() == 4 && args[0] == "eval") {
      LoadedModel<float> loaded = load_model<float>(std::filesystem::path(args[1]));
      const SafetensorsFile inputs = read_safetensors(args[2]);
      const Tensor<float> x = inputs.get<float>("x"), y = inputs.get<float>("y");
      std::vector<int> labels(y.data(), y.data() + y.numel());
      const Tensor<float> logits = Tensor<float>::from_view(loaded.model.forward(x.view()));
      Tensor<float> grad_logits;
      cross_entropy<float>(logits.view(), labels, grad_logits);
      const Tensor<float> grad = Tensor<float>::from_view(
          loaded.model.backward(grad_logits.view(), InputGrad::compute, ParamGrads::skip));
      write_safetensors<float>(args[3], {{"logits", logits.view()}, {"grad", grad.view()}});
      return 0;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "probe: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "usage: probe make ARCH ACTIVATION CHANNELS OUT | probe eval MODEL INPUTS OUT\n");
  return 2;
}
