#include "farbound/train/config.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace farbound;

TEST_CASE("config JSON integers are read as integers, never wrapped or truncated", "[config][errors]") {
  CHECK(train_config_from_json(R"({"num_epochs": 3, "seed": 18446744073709551615})").num_epochs == 3);
  CHECK_THROWS_WITH(train_config_from_json(R"({"num_epochs": 4294967297})"),
                    Catch::Contains("num_epochs must be an integer in [1, 1000000], got 4294967297"));
  CHECK_THROWS_WITH(train_config_from_json(R"({"batch_size": 4294967360})"), Catch::Contains("batch_size"));
  CHECK_THROWS_WITH(train_config_from_json(R"({"num_epochs": 1.9})"), Catch::Contains("got 1.9"));
  CHECK_THROWS_WITH(train_config_from_json(R"({"seed": -1})"), Catch::Contains("[0, 2^64 - 1]"));
  CHECK_THROWS_WITH(train_config_from_json(R"({"lr": "0.1"})"), Catch::Contains("lr must be a number"));
  CHECK_THROWS_WITH(train_config_from_json(R"({"jacobian": 1})"), Catch::Contains("true or false"));
  CHECK_THROWS_WITH(train_config_from_json(R"({"epochs": 3})"), Catch::Contains("unknown key 'epochs'"));
}

TEST_CASE("log_freq, the checkpoint interval's name before the rename, reads as checkpoint_every", "[config]") {
  CHECK(train_config_from_json(R"({"log_freq": 4})").checkpoint_every == 4);
  CHECK_THROWS_WITH(train_config_from_json(R"({"log_freq": 0})"), Catch::Contains("log_freq must be an integer in [1, 1000000]"));
  CHECK(nlohmann::json(TrainConfig{}).contains("checkpoint_every"));
}

TEST_CASE("a config file is exactly one JSON object", "[config][errors]") {
  CHECK_THROWS_AS(train_config_from_json(std::string("{}\0garbage", 10)), argument_error);
  CHECK_THROWS_AS(train_config_from_json("{} {}"), argument_error);
  CHECK_THROWS_AS(train_config_from_json("[1]"), argument_error);
  CHECK_THROWS_AS(train_config_from_json(""), argument_error);
  const TrainConfig c = train_config_from_json(R"({"grad_reg_lambda": 2, "num_neighbor_per_anchor": 1})");
  CHECK(train_config_from_json(nlohmann::json(c).dump()).grad_reg_lambda == 2);
}

TEST_CASE("settings that would do nothing, or make no sense, are refused", "[config][errors]") {
  TrainConfig c;
  c.momentum = 2;
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("momentum must lie in [0, 1)"));
  c = TrainConfig{};
  c.grad_reg_lambda = 1;
  c.jacobian = true;  // K = 0: the Jacobian regulariser has no neighbours to work on
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("num_neighbor_per_anchor >= 1"));
  c.num_neighbor_per_anchor = 1;
  CHECK_NOTHROW(c.validate());
  c.grad_reg_lambda = 0;  // neighbours drawn for nothing
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("needs grad_reg_lambda > 0"));
  c = TrainConfig{};
  c.epsilon = 1e39;
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("epsilon must lie in [0, 1000], got 1e+39"));
}
