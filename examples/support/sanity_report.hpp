#pragma once
// farbound-eval --sanity: the gradient-masking checks of one model, printed as a table of
// pass / WARN with the numbers behind each verdict, and as JSON.
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "farbound/metrics/gradient_masking.hpp"

namespace examples {

inline void print_masking_checks(const std::string& model, double eps, std::int64_t points,
                                 const std::vector<farbound::MaskingCheck>& checks) {
  std::printf("\nGradient-masking checks for %s at eps %g (%lld points)\n", model.c_str(), eps,
              static_cast<long long>(points));
  for (const farbound::MaskingCheck& c : checks)
    std::printf("  %-4s  %-26s %s\n", c.pass ? "pass" : "WARN", c.name.c_str(), c.numbers.c_str());
}

inline nlohmann::json to_json(const std::vector<farbound::MaskingCheck>& checks, double eps) {
  nlohmann::json j = {{"eps", eps}, {"checks", nlohmann::json::array()}};
  for (const farbound::MaskingCheck& c : checks)
    j["checks"].push_back({{"name", c.name}, {"pass", c.pass}, {"numbers", c.numbers}});
  return j;
}

}  // namespace examples
