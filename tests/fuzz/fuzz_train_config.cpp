// libFuzzer target: the training-config reader on arbitrary bytes must either return a
// configuration or throw farbound::error. Every configuration it accepts must validate or
// be refused by validate() with argument_error, and one that validates must survive the
// JSON round trip unchanged (so a checkpoint's settings read back as written).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "farbound/train/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const farbound::TrainConfig c =
        farbound::train_config_from_json(std::string_view(reinterpret_cast<const char*>(data), size));
    c.validate();
    const nlohmann::json j = c;
    const farbound::TrainConfig back = farbound::train_config_from_json(j.dump());
    if (nlohmann::json(back) != j) std::abort();
  } catch (const farbound::error&) {
  }
  return 0;
}
