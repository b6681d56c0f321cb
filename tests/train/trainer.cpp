#include "farbound/train/trainer.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <limits>

#include "farbound/data/toy.hpp"
#include "farbound/nn/dense.hpp"
#include "farbound/nn/zoo.hpp"
#include "support/flat_parameters.hpp"

using namespace farbound;
using testing::flat_parameters;

namespace {

// A 2-16-2 tanh MLP for the plane: the coordinates are Normalize's two "channels".
Sequential<double> toy_model(std::uint64_t seed) {
  const ModelSpec spec{.arch = "mlp", .activation = "tanh", .in_channels = 2, .image_size = 1, .num_classes = 2,
                       .hidden = {16}, .mean = {0.0, 0.0}, .stddev = {1.0, 1.0}};
  return build_model<double>(spec, seed);
}

TrainConfig gr_config() {
  TrainConfig c;
  c.grad_reg_lambda = 1.0;
  c.num_unlabeled_per_labeled = 1;
  c.unlabeled_noise_std = 0.5;
  c.num_neighbor_per_anchor = 2;
  c.neighbor_noise_std = 0.05;
  c.num_epochs = 4;
  c.batch_size = 16;
  c.lr = 1e-2;
  c.seed = 5;
  return c;
}

}  // namespace

TEST_CASE("the trainer learns a toy set with the smoothness loss", "[trainer]") {
  const auto data = two_clusters<double>(200, 1);
  auto model = toy_model(3);
  Trainer<double> trainer(model, gr_config(), plain_source<double>(data));
  EpochStats last;
  while (!trainer.finished()) last = trainer.run_epoch();
  CHECK(last.train_accuracy > 0.95);
  CHECK(last.regulariser > 0);
  CHECK(std::isfinite(last.loss));
  CHECK(evaluate(model, plain_source<double>(data)).accuracy > 0.95);
  CHECK(last.anchors == 400);  // N labelled + N unlabelled
}

TEST_CASE("a resumed run continues bitwise as the uninterrupted one", "[trainer][checkpoint]") {
  const auto data = two_clusters<double>(64, 2);
  const auto path = std::filesystem::temp_directory_path() / "farbound_test_resume.safetensors";
  for (const bool adversarial : {false, true}) {
    TrainConfig cfg = gr_config();
    cfg.adversarial = adversarial ? "fgsm" : "none";
    cfg.optimizer = adversarial ? "sgd" : "adam";
    auto straight = toy_model(9);
    Trainer<double> a(straight, cfg, plain_source<double>(data));
    while (!a.finished()) a.run_epoch();

    auto first = toy_model(9);
    Trainer<double> b(first, cfg, plain_source<double>(data));
    b.run_epoch();
    b.run_epoch();
    b.save_checkpoint(path);

    auto resumed = toy_model(123);  // other weights: the checkpoint must overwrite them
    Trainer<double> c(resumed, cfg, plain_source<double>(data));
    c.load_checkpoint(path);
    CHECK(c.epoch() == 2);
    while (!c.finished()) c.run_epoch();
    CHECK(flat_parameters(resumed) == flat_parameters(straight));
  }
  std::filesystem::remove(path);
}

TEST_CASE("resuming checks that the settings and the run's metadata match the checkpoint", "[trainer][checkpoint]") {
  const auto data = two_clusters<double>(32, 2);
  const auto path = std::filesystem::temp_directory_path() / "farbound_test_resume_mismatch.safetensors";
  auto model = toy_model(1);
  Trainer<double> saved(model, gr_config(), plain_source<double>(data));
  saved.save_checkpoint(path, {{"farbound.model_spec", R"({"activation":"sigmoid","arch":"mlp"})"}});
  TrainConfig longer = gr_config();
  longer.num_epochs = 5;
  Trainer<double> other(model, longer, plain_source<double>(data));
  CHECK_THROWS_WITH(other.load_checkpoint(path), Catch::Contains("num_epochs 4, this run has 5"));
  Trainer<double> same(model, gr_config(), plain_source<double>(data));
  CHECK_THROWS_WITH(same.load_checkpoint(path, {{"farbound.model_spec", R"({"activation":"relu","arch":"mlp"})"}}),
                    Catch::Contains("activation \"sigmoid\", this run has \"relu\""));
  CHECK_THROWS_AS(same.load_checkpoint(path, {{"farbound.data_selection", "{}"}}), io_error);  // not in the file
  std::filesystem::remove(path);
}

TEST_CASE("training gives the same model on 1 and 2 threads", "[trainer][determinism]") {
  const auto data = two_clusters<double>(64, 4);
  // Without replicas, and with one copy sharing each step's 48 rows (nn/replicas.hpp).
  std::vector<double> params[2][2];
  for (int replica_count : {1, 2})
    for (int threads : {1, 2}) {
      set_threads(threads);
      auto model = toy_model(1);
      std::vector<Sequential<double>> copies;
      if (replica_count == 2) copies.push_back(toy_model(9));
      TrainConfig cfg = gr_config();
      cfg.num_epochs = 2;
      cfg.replicas = replica_count;
      Trainer<double> t(model, cfg, plain_source<double>(data), nullptr, copies);
      while (!t.finished()) t.run_epoch();
      params[replica_count - 1][threads - 1] = flat_parameters(model);
    }
  set_threads(2);
  CHECK(params[0][0] == params[0][1]);
  CHECK(params[1][0] == params[1][1]);
  // The replicas' run is the same training up to the roundings of its gradient sums.
  double worst = 0;
  for (std::size_t i = 0; i < params[0][0].size(); ++i) worst = std::max(worst, std::abs(params[1][0][i] - params[0][0][i]));
  CHECK(worst < 1e-9);
  CHECK(params[1][0] != params[0][0]);
}

TEST_CASE("Jacobian, FGSM and noise-injection variants train and keep train mode", "[trainer]") {
  const auto data = two_clusters<double>(64, 6);
  for (int variant = 0; variant < 3; ++variant) {
    TrainConfig cfg = gr_config();
    cfg.num_epochs = 2;
    if (variant == 0) cfg.jacobian = true;
    if (variant == 1) cfg.adversarial = "fgsm";
    if (variant == 2) cfg.inject_noise = 2;  // after Normalize and Flatten
    auto model = toy_model(2);
    Trainer<double> t(model, cfg, plain_source<double>(data));
    const EpochStats s = t.run_epoch();
    CHECK(std::isfinite(s.loss));
    CHECK(s.regulariser > 0);
    CHECK(model.training());
  }
}

TEST_CASE("bad configurations and diverged losses are reported", "[trainer][errors]") {
  const auto data = two_clusters<double>(32, 7);
  auto model = toy_model(1);
  TrainConfig cfg = gr_config();
  cfg.inject_noise = 99;
  CHECK_THROWS_WITH(Trainer<double>(model, cfg, plain_source<double>(data)), Catch::Contains("inject_noise layer 99"));
  cfg = gr_config();
  cfg.neighbor_noise_std = -1;
  CHECK_THROWS_WITH(Trainer<double>(model, cfg, plain_source<double>(data)), Catch::Contains("neighbor_noise_std"));
  cfg = gr_config();
  cfg.batch_size = 1000;
  CHECK_THROWS_AS(Trainer<double>(model, cfg, plain_source<double>(data)), argument_error);
  cfg = gr_config();
  cfg.inject_noise = 2;
  cfg.replicas = 2;
  std::vector<Sequential<double>> copy;
  copy.push_back(toy_model(1));
  CHECK_THROWS_WITH(Trainer<double>(model, cfg, plain_source<double>(data), nullptr, copy),
                    Catch::Contains("inject_noise with replicas > 1 is not supported"));
  cfg = gr_config();
  cfg.replicas = 3;
  CHECK_THROWS_WITH(Trainer<double>(model, cfg, plain_source<double>(data), nullptr, copy),
                    "Trainer: the config's replicas 3 need 2 copies of the model, got 1");
  std::vector<Sequential<double>> other;
  other.push_back(toy_model(1));
  other[0].add<Dense<double>>(2, 2);
  cfg.replicas = 2;
  CHECK_THROWS_WITH(Trainer<double>(model, cfg, plain_source<double>(data), nullptr, other),
                    "Replicas: copy 1 does not have the model's layers and parameters");

  Trainer<double> t(model, gr_config(), plain_source<double>(data));
  model.parameters()[0]->value[0] = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(t.run_epoch(), numeric_error);
}

namespace {

// Adds nothing; records the rows it saw and says whether it reads the clean ones.
class RowsSeen final : public ObjectiveTerm<double> {
 public:
  explicit RowsSeen(bool reads_clean) : reads_clean_(reads_clean) {}
  TermLoss add(const StepRows<double>& rows, TensorView<double>) override {
    logit_rows = rows.logits.size(0);
    had_clean_rows = rows.has_clean_rows;
    return {};
  }
  bool reads_clean_rows() const override { return reads_clean_; }
  std::int64_t logit_rows = 0;
  bool had_clean_rows = true;

 private:
  bool reads_clean_;
};

}  // namespace

TEST_CASE("Madry's adversarial-only step leaves the clean rows out and trains as with them", "[trainer]") {
  const auto data = two_clusters<double>(48, 9);
  std::vector<double> params[2];
  EpochStats stats[2];
  for (const bool reads_clean : {false, true}) {
    auto model = toy_model(4);
    Adam<double> adam(model.parameters(), 1e-2);
    const ConstantLR schedule(1e-2);
    TrainingLoop<double, GaussianNoise, GaussianNoise>::Parts parts{
        .model = model,
        .optimizer = adam,
        .schedule = schedule,
        .data = plain_source<double>(data),
        .cloud = UnlabelledCloud<GaussianNoise>(data.size(), 0, GaussianNoise(0.0), 3),
        .neighbours = Neighbours<GaussianNoise>(0, GaussianNoise(0.0), 3),
        .adversarial = std::make_unique<PgdExamples<double>>(0.3, PgdOptions{.steps = 3, .seed = 3, .bounds = Bounds{-10, 10}}),
        .terms = {},
        .batch_size = 16,
        .gradient_sum = nullptr};
    parts.terms.push_back(std::make_unique<CrossEntropyTerm<double>>(0, 1));
    auto seen = std::make_unique<RowsSeen>(reads_clean);
    RowsSeen& rows = *seen;
    parts.terms.push_back(std::move(seen));
    TrainingLoop<double, GaussianNoise, GaussianNoise> loop(std::move(parts));
    for (int e = 0; e < 2; ++e) stats[reads_clean] = loop.run_epoch();
    // 16 adversarial rows, after the 16 clean ones only when a term reads those.
    CHECK(rows.logit_rows == (reads_clean ? 32 : 16));
    CHECK(rows.had_clean_rows == reads_clean);
    params[reads_clean] = flat_parameters(model);
  }
  // The clean rows' zero gradient changes nothing but the order of the weight gradient's sums.
  REQUIRE(params[0].size() == params[1].size());
  for (std::size_t i = 0; i < params[0].size(); ++i) CHECK(params[0][i] == Approx(params[1][i]).epsilon(1e-12).margin(1e-14));
  CHECK(stats[0].loss == Approx(stats[1].loss).epsilon(1e-12));
  // Without the clean rows the training accuracy is the adversarial rows'.
  CHECK(stats[0].train_accuracy <= stats[1].train_accuracy);
}
