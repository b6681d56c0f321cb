#pragma once
// farbound-oracle's settings and flags: the data (n relevant + m extra coordinates, the
// spurious shift), the MLP, training with and without the framework, and the estimates
// (pairs per point, oracle radii). Checked here, before any work starts.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "farbound/core/error.hpp"
#include "support/flags.hpp"

namespace examples {

struct OracleSettings {
  std::int64_t relevant = 4, extra = 4, train = 2000, test = 1000;
  double margin = 0.1, spurious = 1.0;
  std::int64_t hidden = 32;
  int epochs = 20, batch_size = 64;
  double lambda = 10, sigma_u = 0.5, sigma_n = 0.1;
  std::int64_t draws = 20;
  double invisible_radius = 2.0;
  std::vector<double> deltas{1, 0.3, 0.1, 0.03, 0.01, 0.003};
  std::uint64_t seed = 1;
  std::string svg_path = "oracle_eta.svg";
  int threads = 1;  // an 8-32-2 MLP is far too small to gain from more
};

inline void add_oracle_flags(CLI::App& app, OracleSettings& s) {
  app.option_defaults()->always_capture_default();
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
  app.add_option("--batch-size", s.batch_size, "training points per step (default: 64, or --train if fewer)")
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
  app.add_option("--svg", s.svg_path, "where to write the plot of eta-hat against delta2 ('' for none)");
  app.add_option("--threads", s.threads, "OpenMP threads (0: all; the results are the same for any count; more than " +
                                             std::to_string(max_threads) + " are capped)")
      ->check(integer_in(0, 1 << 20));
}

// What the flags cannot check one by one: the batch against the training set, the memory
// the points take, the plot's path. Sets the thread count.
inline void check_oracle_settings(const CLI::App& app, OracleSettings& s) {
  apply_threads(s.threads, app.get_name());
  if (app.count("--batch-size") == 0) s.batch_size = int(std::min<std::int64_t>(s.batch_size, s.train));
  if (s.batch_size > s.train)
    throw farbound::argument_error("--batch-size " + std::to_string(s.batch_size) + " exceeds the " +
                                   std::to_string(s.train) + " training points (--train)");
  // The points live in memory several times over (four data sets, pairs): bound them.
  constexpr std::int64_t max_numbers = std::int64_t(1) << 26;
  if ((s.train + s.test) * (s.relevant + s.extra) > max_numbers)
    throw farbound::argument_error("--train + --test points times --relevant + --extra coordinates is " +
                                   std::to_string((s.train + s.test) * (s.relevant + s.extra)) + ", over the limit " +
                                   std::to_string(max_numbers));
  if (!s.svg_path.empty()) check_output_file("--svg", s.svg_path);
}

}  // namespace examples
