#include "farbound/metrics/gradient_masking.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "farbound/nn/dense.hpp"
#include "support/attack_models.hpp"

using namespace farbound;

namespace {

const MaskingCheck& masking_check(const std::vector<MaskingCheck>& checks, const std::string& name) {
  for (const MaskingCheck& c : checks)
    if (c.name == name) return c;
  FAIL("no check " << name);
  return checks.front();
}

}  // namespace

TEST_CASE("The gradient-masking checks pass on a plain network and warn on a saturated one",
          "[gradient_masking]") {
  const auto x = testing::test_images<float>(24, 9);
  const MaskingOptions options{.steps = 40, .square_queries = 300, .noise_draws = 100, .batch_size = 64};
  const double eps = 0.05;

  auto plain = testing::small_conv_net<float>(3);
  const auto y = testing::predictions(plain, x);
  const std::vector<MaskingCheck> checks = gradient_masking_checks(plain, x.view(), y, eps, options);
  REQUIRE(checks.size() == 7);
  for (const MaskingCheck& c : checks) {
    INFO(c.name << ": " << c.numbers);
    CHECK(c.pass);
  }

  // The same network with its logits multiplied by 10^4: the same predictions, but the
  // softmax saturates and the cross-entropy's gradient is exactly zero in float.
  auto masked = testing::small_conv_net<float>(3);
  auto& scale = masked.add<Dense<float>>(5, 5);
  scale.weight.value.zero();
  scale.bias.value.zero();
  for (int k = 0; k < 5; ++k) scale.weight.value[k * 5 + k] = 1e4f;
  REQUIRE(testing::predictions(masked, x) == y);
  const std::vector<MaskingCheck> masked_checks = gradient_masking_checks(masked, x.view(), y, eps, options);
  // APGD-CE cannot move (robust 100 %) even at eps 0.5, while the scale-free DLR loss of
  // APGD-T still finds adversarial points: so the gradients, not the model, hold.
  for (const char* name : {"zero_gradients", "large_eps", "more_iterations"}) {
    const MaskingCheck& c = masking_check(masked_checks, name);
    INFO(c.name << ": " << c.numbers);
    CHECK_FALSE(c.pass);
  }
}
