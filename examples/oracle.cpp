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
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "farbound/core/parallel.hpp"
#include "farbound/data/toy.hpp"
#include "farbound/nn/dense.hpp"
#include "farbound/nn/zoo.hpp"
#include "farbound/theory/arc.hpp"
#include "farbound/theory/feature_map.hpp"
#include "farbound/theory/oracle.hpp"
#include "farbound/theory/strong_robustness.hpp"
#include "farbound/theory/topology.hpp"
#include "farbound/train/batch_source.hpp"
#include "farbound/train/evaluate.hpp"
#include "farbound/train/trainer.hpp"
#include "farbound/viz/svg.hpp"
#include "support/cli.hpp"
#include "support/flags.hpp"

namespace {

using namespace farbound;

struct Settings {
  std::int64_t relevant = 4, extra = 4, train = 2000, test = 1000;
  double margin = 0.1, spurious = 1.0;
  std::int64_t hidden = 32;
  int epochs = 20, batch_size = 64;
  double lambda = 10, sigma_u = 0.5, sigma_n = 0.1;
  std::int64_t draws = 20;
  double invisible_radius = 2.0;
  std::vector<double> deltas{1, 0.3, 0.1, 0.03, 0.01, 0.003};
  std::uint64_t seed = 1;
};

// The data sets of the experiment: items [0, train) of one relevant_features draw are the
// training set, the rest the test set (one draw, so both share the oracle's direction w).
struct Sets {
  Dataset<float> train;             // extras shifted by +-spurious with the label
  Dataset<float> train_relevant;    // the same points with the extras set to 0 (A's view)
  Dataset<float> test;              // extras shifted as in training
  Dataset<float> test_decorrelated; // extras pure noise
};

// What a set does with the m extra coordinates of relevant_features' points (pure noise).
enum class Extras { shifted, zeroed, noise };

// Items [first, first + count) of `all`, extras shifted by spurious * (2y - 1), zeroed or kept.
Dataset<float> take(const Dataset<float>& all, std::int64_t first, std::int64_t count, const Settings& s, Extras extras) {
  Tensor<float> x = Tensor<float>::from_view(all.inputs().slice(first, count));
  const std::int64_t d = s.relevant + s.extra;
  std::vector<int> y(all.labels().begin() + first, all.labels().begin() + first + count);
  for (std::int64_t i = 0; i < count; ++i)
    for (std::int64_t j = s.relevant; j < d; ++j) {
      float& v = x[i * d + j];
      if (extras == Extras::zeroed) v = 0;
      if (extras == Extras::shifted) v += float(s.spurious * (2 * y[std::size_t(i)] - 1));
    }
  return Dataset<float>(std::move(x), std::move(y), 2);
}

Sets make_sets(const Settings& s) {
  const auto all = relevant_features<float>(s.train + s.test, s.relevant + s.extra, s.relevant, s.seed, s.margin);
  return {take(all, 0, s.train, s, Extras::shifted), take(all, 0, s.train, s, Extras::zeroed),
          take(all, s.train, s.test, s, Extras::shifted), take(all, s.train, s.test, s, Extras::noise)};
}

// Inputs j >= first_masked of an MLP (Normalize with mean 0, std 1, Flatten, Dense, ...)
// no longer reach it: their columns of the first Dense layer are set to 0.
void mask_inputs(Sequential<float>& model, std::int64_t first_masked) {
  for (std::size_t l = 0; l < model.size(); ++l)
    if (auto* dense = dynamic_cast<Dense<float>*>(&model.layer(l))) {
      const std::int64_t in = dense->in_features();
      for (std::int64_t o = 0; o < dense->out_features(); ++o)
        for (std::int64_t j = first_masked; j < in; ++j) dense->weight.value[o * in + j] = 0;
      return;
    }
}

void copy_parameters(Sequential<float>& from, Sequential<float>& to) {
  const auto a = from.parameters(), b = to.parameters();
  for (std::size_t i = 0; i < a.size(); ++i)
    std::copy_n(a[i]->value.data(), a[i]->value.numel(), b[i]->value.data());
}

void train(Sequential<float>& model, const Dataset<float>& data, const Settings& s, bool framework) {
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

// What was measured on one classifier.
struct Row {
  Row(std::string n, std::string c) : name(std::move(n)), colour(std::move(c)) {}
  std::string name, colour;
  double accuracy = 0, accuracy_decorrelated = 0;
  std::vector<EtaEstimate> eta;  // one per delta2
  EtaEstimate attack;
  ArcResult arc, arc_held;
  std::vector<DistanceRatios> topology;
};

std::string fixed(double v, int digits = 3) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}
std::string general(double v) {
  if (std::isinf(v)) return "inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}
std::string with_interval(const EtaEstimate& e) {
  return fixed(e.eta) + " [" + fixed(e.interval.lower) + ", " + fixed(e.interval.upper) + "]";
}

// eta-hat against delta2 on a log axis, one line per classifier, the Clopper-Pearson
// intervals as bars.
void write_plot(const std::string& path, const std::vector<Row>& rows, const Settings& s, double confidence) {
  const double width = 660, height = 420, left = 70, right = 190, top = 50, bottom = 50;
  const double pw = width - left - right, ph = height - top - bottom;
  const auto [dmin, dmax] = std::minmax_element(s.deltas.begin(), s.deltas.end());
  const double lo = std::floor(std::log10(*dmin)), hi = std::ceil(std::log10(*dmax));
  // The y axis: from 0 past the highest interval, in steps of 1, 2 or 5 times a power of 10.
  double top_value = 1e-3;
  for (const Row& r : rows)
    for (const EtaEstimate& e : r.eta) top_value = std::max(top_value, e.interval.upper);
  const double raw_step = top_value / 4, decade = std::pow(10, std::floor(std::log10(raw_step)));
  const double ystep = decade * (raw_step <= decade ? 1 : raw_step <= 2 * decade ? 2 : raw_step <= 5 * decade ? 5 : 10);
  const int yticks = int(std::ceil(top_value / ystep - 1e-9));
  const double ymax = ystep * yticks;
  const auto px = [&](double delta) { return left + (std::log10(delta) - lo) / (hi - lo) * pw; };
  const auto py = [&](double eta) { return top + (1 - eta / ymax) * ph; };

  SvgDocument svg(width, height);
  svg.rect(0, 0, width, height, {.fill = "white"});
  svg.text(left + pw / 2, 20, "eta-hat of (delta2, eta)-strong-robustness", {.size = 15, .anchor = "middle"});
  for (double e = lo; e <= hi; ++e) {
    svg.line(px(std::pow(10, e)), top, px(std::pow(10, e)), top + ph, {.stroke = "#dddddd"});
    svg.text(px(std::pow(10, e)), top + ph + 18, "1e" + std::to_string(int(e)), {.size = 11, .anchor = "middle"});
  }
  for (int k = 0; k <= yticks; ++k) {
    const double v = ystep * k;
    svg.line(left, py(v), left + pw, py(v), {.stroke = "#dddddd"});
    svg.text(left - 6, py(v) + 4, general(v), {.size = 11, .anchor = "end"});
  }
  svg.rect(left, top, pw, ph, {.stroke = "black"});
  svg.text(left + pw / 2, height - 8, "delta2 (oracle radius, log scale)", {.size = 12, .anchor = "middle"});
  svg.text(left, top - 8, "eta-hat", {.size = 12, .anchor = "middle"});
  for (std::size_t m = 0; m < rows.size(); ++m) {
    const Row& r = rows[m];
    SvgPath line;
    for (std::size_t i = 0; i < r.eta.size(); ++i) {
      const double x = px(r.eta[i].delta2) + (double(m) - 1.5) * 3;  // side by side: bars do not overlap
      i == 0 ? line.move_to(x, py(r.eta[i].eta)) : line.line_to(x, py(r.eta[i].eta));
      svg.line(x, py(r.eta[i].interval.lower), x, py(r.eta[i].interval.upper), {.stroke = r.colour, .stroke_width = 1.5});
      svg.circle(x, py(r.eta[i].eta), 3, {.fill = r.colour});
    }
    svg.path(line, {.stroke = r.colour, .stroke_width = 2});
    const double ly = top + 20 + 22 * double(m);
    svg.line(left + pw + 14, ly - 4, left + pw + 38, ly - 4, {.stroke = r.colour, .stroke_width = 2});
    svg.text(left + pw + 44, ly, r.name, {.size = 12});
  }
  svg.text(left + pw + 14, top + 20 + 22 * double(rows.size()) + 8,
           "bars: " + fixed(100 * confidence, 0) + "% Clopper-Pearson", {.size = 10});
  svg.write(path);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Wang et al.'s unnecessary-feature experiment: eta-hat, ARC and ARCA of classifiers with and "
               "without features the oracle ignores",
               "farbound-oracle"};
  app.option_defaults()->always_capture_default();
  Settings s;
  std::string svg_path = "oracle_eta.svg";
  int threads = 1;  // an 8-32-2 MLP is far too small to gain from more
  using examples::integer_in, examples::number_in;
  app.add_option("--relevant", s.relevant, "n: coordinates the oracle looks at")->check(integer_in<std::int64_t>(1, 1000));
  app.add_option("--extra", s.extra, "m: extra coordinates, spuriously correlated with the label")
      ->check(integer_in<std::int64_t>(1, 1000));
  app.add_option("--train", s.train, "training points")->check(integer_in<std::int64_t>(10, 10000000));
  app.add_option("--test", s.test, "test points (the estimates run on them)")->check(integer_in<std::int64_t>(10, 10000000));
  app.add_option("--margin", s.margin, "distance of every point from the oracle's boundary")->check(number_in(0, 10));
  app.add_option("--spurious", s.spurious, "shift of the extra coordinates by +-spurious with the label")
      ->check(number_in(0, 100));
  app.add_option("--hidden", s.hidden, "width of the MLP's hidden layer")->check(integer_in<std::int64_t>(1, 4096));
  app.add_option("--epochs", s.epochs, "training epochs")->check(integer_in(1, 10000));
  auto* batch_size = app.add_option("--batch-size", s.batch_size, "training points per step (default: 64, or --train if fewer)")
                         ->check(integer_in(1, 65536));
  app.add_option("--lambda", s.lambda, "B + GR: weight of the smoothness loss")->check(number_in(1e-9, 1e9));
  app.add_option("--sigma-u", s.sigma_u, "B + GR: std of the unlabelled cloud")->check(number_in(0, 100));
  app.add_option("--sigma-n", s.sigma_n, "B + GR: std of the neighbours")->check(number_in(1e-6, 100));
  app.add_option("--draws", s.draws, "pairs drawn per test point and delta2")->check(integer_in<std::int64_t>(1, 1000000));
  app.add_option("--invisible-radius", s.invisible_radius,
                 "largest move of the extra coordinates in a pair (and of the attack), input units")
      ->check(number_in(0, 1000));
  app.add_option("--delta2", s.deltas, "oracle radii")->delimiter(',')->check(number_in(1e-9, 1e9));
  app.add_option("--seed", s.seed, "seed of the data, the initial weights, training and the pairs")
      ->check(integer_in<std::uint64_t>(0, UINT64_MAX));
  app.add_option("--svg", svg_path, "where to write the plot of eta-hat against delta2 ('' for none)");
  app.add_option("--threads", threads, "OpenMP threads (0: all; the results are the same for any count; more than " +
                                           std::to_string(examples::max_threads) + " are capped)")
      ->check(integer_in(0, 1 << 20));

  return examples::run(app, argc, argv, [&] {
    examples::apply_threads(threads, app.get_name());
    if (!*batch_size) s.batch_size = int(std::min<std::int64_t>(s.batch_size, s.train));
    if (s.batch_size > s.train)
      throw argument_error("--batch-size " + std::to_string(s.batch_size) + " exceeds the " + std::to_string(s.train) +
                           " training points (--train)");
    // The points live in memory several times over (four data sets, pairs): bound them.
    constexpr std::int64_t max_numbers = std::int64_t(1) << 26;
    if ((s.train + s.test) * (s.relevant + s.extra) > max_numbers)
      throw argument_error("--train + --test points times --relevant + --extra coordinates is " +
                           std::to_string((s.train + s.test) * (s.relevant + s.extra)) + ", over the limit " +
                           std::to_string(max_numbers));
    if (!svg_path.empty()) examples::check_output_file("--svg", svg_path);
    const auto start = std::chrono::steady_clock::now();
    const std::int64_t d = s.relevant + s.extra;
    const Sets sets = make_sets(s);

    // The oracle: the first n coordinates, and the half-space that generated the labels.
    auto g2 = CoordinateFeatures<float>::first(s.relevant);
    Oracle<float> oracle(g2, halfspace_decision<float>(relevant_direction(s.relevant, s.seed)));

    // The four classifiers: D -> hidden (tanh) -> 2, from the same initial weights.
    const ModelSpec spec{.arch = "mlp", .activation = "tanh", .in_channels = d, .image_size = 1, .num_classes = 2,
                         .hidden = {s.hidden}, .mean = std::vector<double>(std::size_t(d), 0.0),
                         .stddev = std::vector<double>(std::size_t(d), 1.0)};
    Sequential<float> a = build_model<float>(spec, s.seed), b = build_model<float>(spec, s.seed),
                      b_gr = build_model<float>(spec, s.seed), b_masked = build_model<float>(spec, s.seed);
    mask_inputs(a, s.relevant);
    train(a, sets.train_relevant, s, false);
    train(b, sets.train, s, false);
    train(b_gr, sets.train, s, true);
    copy_parameters(b, b_masked);
    mask_inputs(b_masked, s.relevant);
    const double train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    const Tensor<float> x = Tensor<float>::from_view(sets.test.inputs());
    const EtaOptions eta_options{.draws_per_item = s.draws, .pairs = {.invisible_radius = s.invisible_radius, .seed = s.seed}};
    // ARC with the extras free up to the pairs' radius (the oracle-nearest flip), and held.
    const ArcOptions arc_free{.invisible_radius = s.invisible_radius}, arc_held{};
    // d1' vs d2' on the first 200 test points, at radii a thousand times apart.
    const Tensor<float> x_few = Tensor<float>::from_view(x.slice(0, std::min<std::int64_t>(200, x.size(0))));
    const std::vector<double> radii{1, 0.1, 0.01, 0.001};

    std::vector<Row> rows{{"A (relevant only)", "#1f77b4"},
                          {"B (all features)", "#d62728"},
                          {"B + GR", "#ff7f0e"},
                          {"B masked", "#2ca02c"}};
    Sequential<float>* models[] = {&a, &b, &b_gr, &b_masked};
    for (std::size_t m = 0; m < rows.size(); ++m) {
      Sequential<float>& model = *models[m];
      Row& r = rows[m];
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
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    std::printf("## Oracle-relative robustness: n = %lld relevant + m = %lld extra features\n\n",
                static_cast<long long>(s.relevant), static_cast<long long>(s.extra));
    std::printf("%lld training / %lld test points, margin %g, extras shifted by +-%g with the label; MLP %lld-%lld-2 "
                "(tanh), %d epochs; pairs: %lld per test point and delta2, extras moved by up to %g.\n\n",
                static_cast<long long>(s.train), static_cast<long long>(s.test), s.margin, s.spurious,
                static_cast<long long>(d), static_cast<long long>(s.hidden), s.epochs,
                static_cast<long long>(s.draws), s.invisible_radius);
    std::printf("| classifier | accuracy | accuracy, extras decorrelated |");
    for (double delta2 : s.deltas) std::printf(" eta-hat d2=%g |", delta2);
    std::printf(" eta-hat, invisible attack | ARC | ARCA | ARC, extras held |\n|---|---|---|");
    for (std::size_t i = 0; i < s.deltas.size(); ++i) std::printf("---|");
    std::printf("---|---|---|---|\n");
    for (const Row& r : rows) {
      std::printf("| %s | %.3f | %.3f |", r.name.c_str(), r.accuracy, r.accuracy_decorrelated);
      for (const EtaEstimate& e : r.eta) std::printf(" %s |", fixed(e.eta).c_str());
      std::printf(" %s | %s | %s | %s |\n", fixed(r.attack.eta).c_str(), fixed(r.arc.arc).c_str(), fixed(r.arc.arca).c_str(),
                  fixed(r.arc_held.arc).c_str());
    }

    std::printf("\neta-hat with its %.0f%% Clopper-Pearson interval (pairs = draws with f2(x') = f2(x)):\n\n",
                100 * eta_options.confidence);
    std::printf("| delta2 |");
    for (const Row& r : rows) std::printf(" %s |", r.name.c_str());
    std::printf(" pairs (A) |\n|---|");
    for (std::size_t m = 0; m < rows.size(); ++m) std::printf("---|");
    std::printf("---|\n");
    for (std::size_t i = 0; i < s.deltas.size(); ++i) {
      std::printf("| %g |", s.deltas[i]);
      for (const Row& r : rows) std::printf(" %s |", with_interval(r.eta[i]).c_str());
      std::printf(" %lld / %lld |\n", static_cast<long long>(rows[0].eta[i].pairs),
                  static_cast<long long>(rows[0].eta[i].draws));
    }
    std::printf("| invisible attack |");
    for (const Row& r : rows) std::printf(" %s |", with_interval(r.attack).c_str());
    std::printf(" %lld / %lld |\n", static_cast<long long>(rows[0].attack.pairs),
                static_cast<long long>(rows[0].attack.draws));

    std::printf("\nd1' (last hidden layer) against d2' (the oracle's coordinates) on pairs at radius delta2 "
                "(%lld points x 20 pairs):\n\n| delta2 |",
                static_cast<long long>(x_few.size(0)));
    for (const Row& r : rows) std::printf(" %s: max d1' | max d1'/d2' | max d2'/d1' |", r.name.c_str());
    std::printf("\n|---|");
    for (std::size_t m = 0; m < rows.size(); ++m) std::printf("---|---|---|");
    std::printf("\n");
    for (std::size_t i = 0; i < radii.size(); ++i) {
      std::printf("| %g |", radii[i]);
      for (const Row& r : rows)
        std::printf(" %s | %s | %s |", general(r.topology[i].max_d1).c_str(), general(r.topology[i].max_d1_over_d2).c_str(),
                    general(r.topology[i].max_d2_over_d1).c_str());
      std::printf("\n");
    }
    std::printf("\nARC, ARCA: the oracle distance of the nearest flip with the extras free to move by up to %g "
                "(free for the oracle), then the relevant coordinates; 'extras held': relevant coordinates only. "
                "Points without a flip found (left out):",
                s.invisible_radius);
    for (const Row& r : rows)
      std::printf(" %s %lld / %lld;", r.name.c_str(), static_cast<long long>(r.arc.items - r.arc.resolved),
                  static_cast<long long>(r.arc_held.items - r.arc_held.resolved));
    std::printf("\n");
    if (!svg_path.empty()) {
      write_plot(svg_path, rows, s, eta_options.confidence);
      std::printf("wrote %s\n", svg_path.c_str());
    }
    std::printf("%.1f s (training %.1f s) on %d thread(s)\n", seconds, train_seconds, max_threads());
    return 0;
  });
}
