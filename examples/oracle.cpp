// farbound-oracle: Wang, Gao and Qi's unnecessary-feature experiment (docs/papers.md section 2).
//
// The oracle f2 labels points of D = n + m dimensions by the first n coordinates only:
// f2(x) = [w . (x_0..x_{n-1}) >= 0] (data/toy.hpp relevant_features; every point lies at
// least --margin from that boundary). In the training data, and in the in-distribution test
// set, the other m coordinates are shifted by +-spurious with the label: they predict it,
// but the oracle never looks at them. Four classifiers, the same MLP each time:
//   A         sees only the n relevant coordinates (its first-layer weights on the m extras
//             start at 0 and stay 0: it is trained on the points with the extras set to 0)
//   B         sees all D coordinates
//   B + GR    B trained with the smoothness framework (unlabelled cloud, neighbours, GR)
//   B masked  B after training with its m extra inputs masked (their weights set to 0)
// For each it measures, on the test set: accuracy (also with the extras decorrelated from
// the label), eta-hat of (delta2, eta)-strong-robustness at shrinking oracle radii delta2
// (pairs x' with the relevant part moved by < delta2 and the extras by up to
// --invisible-radius, which the oracle cannot see), eta-hat of an attack that moves only
// the extras, ARC and ARCA, and how d1' (the MLP's last hidden layer) follows d2' as
// delta2 shrinks. The theorem to see: eta-hat(B) stays above 0 however small delta2 gets,
// while eta-hat(A) falls to 0.
//
//   farbound-oracle                             # prints the tables, writes oracle_eta.svg
//   farbound-oracle --extra 8 --spurious 0.5 --svg eta.svg
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include <CLI/CLI.hpp>

#include "farbound/core/parallel.hpp"
#include "farbound/nn/zoo.hpp"
#include "farbound/theory/arc.hpp"
#include "farbound/theory/feature_map.hpp"
#include "farbound/theory/oracle.hpp"
#include "farbound/theory/strong_robustness.hpp"
#include "farbound/theory/topology.hpp"
#include "farbound/train/batch_source.hpp"
#include "farbound/train/evaluate.hpp"
#include "farbound/train/trainer.hpp"
#include "support/cli.hpp"
#include "support/flags.hpp"
#include "support/input_mask.hpp"
#include "support/oracle_flags.hpp"
#include "support/oracle_plot.hpp"
#include "support/oracle_report.hpp"
#include "support/oracle_sets.hpp"

using namespace farbound;

// Adam on cross-entropy; with `framework`, plus the smoothness loss over an unlabelled
// cloud (one copy per point) and two neighbours per anchor.
void train(Sequential<float>& model, const Dataset<float>& data, const examples::OracleSettings& s, bool framework) {
  TrainConfig c;
  c.num_epochs = s.epochs;
  c.batch_size = s.batch_size;
  c.lr = 3e-3;
  c.seed = s.seed;
  if (framework) {
    c.grad_reg_lambda = s.lambda;
    c.num_unlabeled_per_labeled = 1;
    c.unlabeled_noise_std = s.sigma_u;
    c.num_neighbor_per_anchor = 2;
    c.neighbor_noise_std = s.sigma_n;
  }
  Trainer<float> trainer(model, c, plain_source<float>(data));
  while (!trainer.finished()) trainer.run_epoch();
}

int main(int argc, char** argv) {
  examples::wait_passively(argv);
  CLI::App app{"Wang et al.'s unnecessary-feature experiment: eta-hat, ARC and ARCA of classifiers with and "
               "without features the oracle ignores",
               "farbound-oracle"};
  examples::OracleSettings s;
  examples::add_oracle_flags(app, s);
  return examples::run(app, argc, argv, [&] {
    examples::check_oracle_settings(app, s);
    const auto start = std::chrono::steady_clock::now();
    const auto seconds_since_start = [&] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    const std::int64_t d = s.relevant + s.extra;
    const examples::OracleSets sets = examples::make_oracle_sets(s);

    // The oracle: the first n coordinates, and the half-space that generated the labels.
    auto g2 = CoordinateFeatures<float>::first(s.relevant);
    Oracle<float> oracle(g2, halfspace_decision<float>(relevant_direction(s.relevant, s.seed)));

    // The four classifiers: D -> hidden (tanh) -> 2, from the same initial weights.
    const ModelSpec spec{.arch = "mlp", .activation = "tanh", .in_channels = d, .image_size = 1, .num_classes = 2,
                         .hidden = {s.hidden}, .mean = std::vector<double>(std::size_t(d), 0.0),
                         .stddev = std::vector<double>(std::size_t(d), 1.0)};
    Sequential<float> a = build_model<float>(spec, s.seed), b = build_model<float>(spec, s.seed),
                      b_gr = build_model<float>(spec, s.seed), b_masked = build_model<float>(spec, s.seed);
    examples::mask_inputs(a, s.relevant);  // A: the extras' weights start at 0 and, trained on zeros, stay 0
    train(a, sets.train_relevant, s, false);
    train(b, sets.train, s, false);
    train(b_gr, sets.train, s, true);
    examples::copy_parameters(b, b_masked);
    examples::mask_inputs(b_masked, s.relevant);
    const double train_seconds = seconds_since_start();

    const Tensor<float> x = Tensor<float>::from_view(sets.test.inputs());
    const EtaOptions eta_options{.draws_per_item = s.draws, .pairs = {.invisible_radius = s.invisible_radius, .seed = s.seed}};
    // ARC with the extras free up to the pairs' radius (the oracle-nearest flip), and held.
    const ArcOptions arc_free{.invisible_radius = s.invisible_radius}, arc_held{};
    // d1' vs d2' on the first 200 test points, at radii a thousand times apart.
    const Tensor<float> x_few = Tensor<float>::from_view(x.slice(0, std::min<std::int64_t>(200, x.size(0))));
    const std::vector<double> radii{1, 0.1, 0.01, 0.001};

    std::vector<examples::OracleRow> rows{
        {"A (relevant only)", "#1f77b4"}, {"B (all features)", "#d62728"}, {"B + GR", "#ff7f0e"}, {"B masked", "#2ca02c"}};
    Sequential<float>* models[] = {&a, &b, &b_gr, &b_masked};
    for (std::size_t m = 0; m < rows.size(); ++m) {
      Sequential<float>& model = *models[m];
      examples::OracleRow& r = rows[m];
      r.accuracy = evaluate(model, plain_source<float>(sets.test)).accuracy;
      r.accuracy_decorrelated = evaluate(model, plain_source<float>(sets.test_decorrelated)).accuracy;
      EtaEstimator<float> eta(model, oracle, eta_options);
      for (double delta2 : s.deltas) r.eta.push_back(eta.sample(x.view(), delta2));
      r.attack = eta.invisible_attack(x.view(), {.radius = s.invisible_radius, .steps = 50});
      r.arc = ArcEstimator<float>(arc_free).run(model, oracle, x.view());
      r.arc_held = ArcEstimator<float>(arc_held).run(model, oracle, x.view());
      LayerFeatures<float> g1(model, model.size() - 1);  // the last hidden layer: what c1 classifies
      r.topology = compare_topologies<float>(g1, g2, x_few.view(), radii, 20,
                                             {.invisible_radius = s.invisible_radius, .seed = s.seed});
    }
    const double seconds = seconds_since_start();

    examples::print_oracle_report(rows, s, eta_options.confidence, radii, x_few.size(0));
    if (!s.svg_path.empty()) {
      examples::write_eta_plot(s.svg_path, rows, s.deltas, eta_options.confidence);
      std::printf("wrote %s\n", s.svg_path.c_str());
    }
    std::printf("%.1f s (training %.1f s) on %d thread(s)\n", seconds, train_seconds, max_threads());
    return 0;
  });
}
