#pragma once
// What farbound-eval works on: the test images, the models (each checked against the data:
// a model that cannot take the images is a bad model file for them), grouped into settings
// by name, and the out-of-distribution inputs, all loaded before any work so that a mistake
// costs nothing.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "farbound/data/image_batcher.hpp"
#include "farbound/io/model_file.hpp"
#include "farbound/metrics/ood_softmax.hpp"
#include "farbound/metrics/robust_accuracy.hpp"
#include "support/datasets.hpp"
#include "support/eval_flags.hpp"

namespace examples {

struct ModelEntry {
  std::string setting, path;
  farbound::LoadedModel<float> loaded;
};

// "NAME=PATH" or "PATH" (then the setting is the file's stem).
inline std::pair<std::string, std::string> split_model_flag(const std::string& flag) {
  const auto eq = flag.find('=');
  if (eq != std::string::npos && eq > 0 && flag.substr(0, eq).find('/') == std::string::npos)
    return {flag.substr(0, eq), flag.substr(eq + 1)};
  return {std::filesystem::path(flag).stem().string(), flag};
}

// The first `limit` test images (all for limit < 0) as one [N, C, H, W] batch in [0, 1].
inline void load_images(const farbound::ImageDataset& data, std::int64_t limit, farbound::Tensor<float>& x,
                        std::vector<int>& y) {
  std::vector<std::int64_t> items(std::size_t(limit < 0 ? data.size() : std::min(limit, data.size())));
  std::iota(items.begin(), items.end(), 0);
  farbound::ImageBatcher<float>(image_options(data)).load(data, items, 0, x, y);
}

// Every --model, in order.
inline std::vector<ModelEntry> load_models(const EvalFlags& f, const farbound::ImageDataset& test,
                                         const farbound::Tensor<float>& x) {
  using farbound::argument_error;
  std::vector<ModelEntry> entries;
  for (const std::string& flag : f.models) {
    auto [setting, path] = split_model_flag(flag);
    farbound::LoadedModel<float> loaded;
    try {
      loaded = farbound::load_model<float>(path, {.allow_non_finite = f.allow_non_finite});
    } catch (const farbound::shape_error& e) {
      throw farbound::io_error(path + ": " + e.what());
    }
    farbound::Shape logits;
    try {
      logits = loaded.model.output_shape(x.shape().with_batch(1));
    } catch (const farbound::shape_error& e) {
      throw argument_error(path + ": the model does not take " + f.dataset + "'s images: " + e.what());
    }
    if (logits.rank() != 2 || logits[1] != test.num_classes())
      throw argument_error(path + ": the model's output " + logits.to_string() + " does not fit " + f.dataset + "'s " +
                           std::to_string(test.num_classes()) + " classes");
    entries.push_back({setting, path, std::move(loaded)});
  }
  return entries;
}

// Settings in order of first appearance; models with the same name are one setting's seeds.
// The groups point into `entries`, which must not grow afterwards.
inline std::vector<farbound::ModelGroup<float>> group_by_setting(std::vector<ModelEntry>& entries) {
  std::vector<farbound::ModelGroup<float>> groups;
  for (ModelEntry& e : entries) {
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.name == e.setting; });
    if (it == groups.end()) it = groups.insert(groups.end(), farbound::ModelGroup<float>{e.setting, {}});
    it->models.push_back(&e.loaded.model);
  }
  return groups;
}

// --ood: uniform noise shaped like the test images, another data set's test images (as many
// as the test images), or nothing.
inline farbound::Tensor<float> ood_inputs(const EvalFlags& f, const farbound::Tensor<float>& x) {
  farbound::Tensor<float> ood_x;
  if (f.ood == "noise") return farbound::uniform_noise<float>(x.shape(), f.seed);
  if (f.ood == "none") return ood_x;
  const ImageData other = load_image_data(f.ood, f.ood_dir, {"--ood", "--ood-dir"});
  std::vector<int> unused;
  load_images(other.test, x.size(0), ood_x, unused);
  if (!(ood_x.shape().with_batch(1) == x.shape().with_batch(1)))
    throw farbound::argument_error("--ood " + f.ood + ": its images " + ood_x.shape().with_batch(1).to_string() +
                                   " differ from the test images " + x.shape().with_batch(1).to_string());
  return ood_x;
}

}  // namespace examples
