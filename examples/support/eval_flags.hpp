#pragma once
// farbound-eval's flags: what to evaluate (models, data, points), with which attacks and
// radii, and where the report goes; with the checks of the combinations that make no sense.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "farbound/attack/norm.hpp"
#include "support/flags.hpp"

namespace examples {

struct EvalFlags {
  std::vector<std::string> models;  // [NAME=]PATH
  std::vector<std::string> attacks = {"fgsm", "pgd"};
  std::vector<double> epsilons = {0.0, 0.05, 0.1, 0.15, 0.2};
  std::string dataset = "fashion-mnist", data_dir, points = "common", ood = "noise", ood_dir, out_dir = "eval";
  std::string suite = "none", suite_norm = "linf";
  std::int64_t num_test = -1, batch_size = 256, sanity_points = 500;
  int pgd_steps = 20, pgd_restarts = 1, deepfool_max_iter = 50, bins = 20, threads = 0;
  bool sanity = false, allow_non_finite = false;
  std::uint64_t seed = 0;

  farbound::Norm suite_norm_value() const { return suite_norm == "linf" ? farbound::Norm::linf : farbound::Norm::l2; }
};

inline void add_eval_flags(CLI::App& app, EvalFlags& f) {
  app.option_defaults()->always_capture_default();
  app.add_option("--model", f.models, "[NAME=]PATH of a model saved by farbound-train; repeat (same NAME = seeds)")
      ->required();
  app.add_option("--dataset", f.dataset, "fashion-mnist, mnist or cifar10");
  app.add_option("--data-dir", f.data_dir, "directory of the data files (default for fashion-mnist: Debian's)");
  app.add_option("--num-test", f.num_test, "evaluate the first N test images")->check(count_or_all(1, 100000000));
  app.add_option("--attack", f.attacks, "fgsm, pgd (L-inf) or pgd-l2; repeat for several")
      ->check(CLI::IsMember({"fgsm", "pgd", "pgd-l2"}));
  app.add_option("--suite", f.suite, "attack suite, per-point worst case: standard (APGD-CE, APGD-T, FAB-T, Square), "
                 "fast (APGD-CE, APGD-T) or none")
      ->check(CLI::IsMember({"none", "standard", "fast"}));
  app.add_option("--suite-norm", f.suite_norm, "norm of the suite's attacks and the sanity checks")
      ->check(CLI::IsMember({"linf", "l2"}));
  app.add_flag("--sanity", f.sanity, "gradient-masking checks per model at the largest --eps, in --suite-norm");
  app.add_option("--sanity-points", f.sanity_points, "points the gradient-masking checks use (the first N)")
      ->check(integer_in<std::int64_t>(1, 100000));
  app.add_option("--eps", f.epsilons, "epsilon grid in pixel units")->delimiter(',')->check(number_in(0, 100));
  app.add_option("--points", f.points, "robust accuracy on the commonly correct points, all points, or both")
      ->check(CLI::IsMember({"common", "all", "both"}));
  app.add_option("--pgd-steps", f.pgd_steps, "PGD steps (step size 2.5 eps / steps)")->check(integer_in(1, 100000));
  app.add_option("--pgd-restarts", f.pgd_restarts, "PGD random restarts")->check(integer_in(1, 1000));
  app.add_option("--deepfool-max-iter", f.deepfool_max_iter, "DeepFool iterations for rho (0: skip rho)")
      ->check(integer_in(0, 100000));
  app.add_option("--ood", f.ood,
                 "out-of-distribution inputs: noise, none, or a data set name (fashion-mnist, mnist, cifar10)")
      ->check(CLI::IsMember({"noise", "none", "fashion-mnist", "mnist", "cifar10"}));
  app.add_option("--ood-dir", f.ood_dir, "directory of the out-of-distribution data set");
  app.add_option("--bins", f.bins, "bins of the max-softmax histogram")->check(integer_in(1, 10000));
  app.add_option("--seed", f.seed, "seed of the PGD random starts and the noise images")
      ->check(integer_in<std::uint64_t>(0, UINT64_MAX));
  app.add_option("--batch-size", f.batch_size, "images per forward pass")->check(integer_in<std::int64_t>(1, 65536));
  app.add_option("--threads", f.threads, "OpenMP threads (0: OpenMP's default; more are capped at " +
                                             std::to_string(max_threads) + ")")
      ->check(integer_in(0, 1 << 20));
  app.add_option("--out-dir", f.out_dir, "where results.csv, results.json and the SVG plots go");
  app.add_flag("--allow-non-finite-weights", f.allow_non_finite,
               "evaluate models whose weights hold NaN or Inf (refused by default; for debugging)");
}

// After parsing: flags that only mean something with another, the output directory, the
// threads; the epsilon grid sorted without repeats; the suite joins the list of attacks.
inline void check_eval_flags(const CLI::App& app, EvalFlags& f) {
  apply_threads(f.threads, app.get_name());
  require_mode(app, "--ood-dir", f.ood != "noise" && f.ood != "none", "--ood with a data set");
  require_mode(app, "--bins", f.ood != "none", "--ood noise or a data set");
  const bool pgd = std::count(f.attacks.begin(), f.attacks.end(), "fgsm") < std::ptrdiff_t(f.attacks.size());
  require_mode(app, "--pgd-steps", pgd, "--attack pgd or pgd-l2");
  require_mode(app, "--pgd-restarts", pgd, "--attack pgd or pgd-l2");
  require_mode(app, "--suite-norm", f.suite != "none" || f.sanity, "--suite or --sanity");
  require_mode(app, "--sanity-points", f.sanity, "--sanity");
  check_output_dir("--out-dir", f.out_dir);
  std::sort(f.epsilons.begin(), f.epsilons.end());
  f.epsilons.erase(std::unique(f.epsilons.begin(), f.epsilons.end()), f.epsilons.end());
  if (f.suite != "none") f.attacks.push_back("suite-" + f.suite);
}

inline std::string attack_title(const std::string& a) {
  if (a.starts_with("suite-")) return "suite " + a.substr(6);
  return a == "fgsm" ? "FGSM" : a == "pgd" ? "PGD (Linf)" : "PGD (L2)";
}

}  // namespace examples
