// libFuzzer target: the model-spec reader (the JSON a model file stores) on arbitrary bytes
// must either give a spec or throw farbound::error, and validate_model_spec must refuse
// every spec beyond ModelSpecLimits before anything is allocated. Specs that pass are built
// when small (a full-size ResNet9 per input would make the fuzzer crawl): the limits, not
// the build, are what keep memory bounded, and -malloc_limit_mb checks that.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "farbound/io/model_file.hpp"
#include "farbound/nn/zoo.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const farbound::ModelSpec spec =
        farbound::model_spec_from_json(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    farbound::validate_model_spec(spec);
    std::int64_t widest = spec.num_classes;
    for (std::int64_t h : spec.hidden) widest = std::max(widest, h);
    if (spec.arch == "mlp" && spec.in_channels * spec.image_size * spec.image_size <= 4096 && widest <= 256)
      (void)farbound::build_model<float>(spec, 0);
  } catch (const farbound::error&) {
  }
  return 0;
}
