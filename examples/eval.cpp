// farbound-eval: how robust are saved models? For one or more models saved by
// farbound-train, on a test set: clean accuracy, robust accuracy under FGSM / PGD and the
// per-point worst case of an attack suite (--suite standard: APGD-CE, APGD-T, FAB-T,
// Square) over an epsilon grid, DeepFool's rho, and the softmax on out-of-distribution
// inputs. Prints tables and writes results.csv, results.json and SVG plots into --out-dir.
//
//   farbound-eval --model baseline=base_s1.safetensors --model baseline=base_s2.safetensors
//                 --model gr=gr_s1.safetensors --attack fgsm --attack pgd --eps 0,0.05,0.1,0.2
//
// Models given the same NAME (NAME=PATH) are one setting trained with several seeds: the
// tables show their mean +- standard error. As in the paper, robust accuracy is measured on
// the test points that every model classifies correctly (--points all|both for all points).
// Units: [0,1] pixels, so --eps 0.1 is a tenth of the pixel range. Exit codes (docs/cli.md):
// 2 for bad flags or a model that does not fit the data, 1 for unreadable files; the output
// files are written all together or not at all.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "farbound/attack/deepfool.hpp"
#include "farbound/attack/fgsm.hpp"
#include "farbound/attack/pgd.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/data/image_batcher.hpp"
#include "farbound/io/model_file.hpp"
#include "farbound/metrics/ood_softmax.hpp"
#include "farbound/metrics/rho.hpp"
#include "farbound/metrics/robust_accuracy.hpp"
#include "farbound/metrics/standard_suite.hpp"
#include "farbound/train/progress.hpp"
#include "support/charts.hpp"
#include "support/cli.hpp"
#include "support/datasets.hpp"
#include "support/flags.hpp"
#include "support/sanity_report.hpp"
#include "support/suite_report.hpp"
#include "support/staged_dir.hpp"

namespace {
using namespace farbound;

struct LoadedEntry {
  std::string setting, path;
  LoadedModel<float> loaded;
};

// "NAME=PATH" or "PATH" (then the setting is the file's stem).
std::pair<std::string, std::string> split_model_flag(const std::string& flag) {
  const auto eq = flag.find('=');
  if (eq != std::string::npos && eq > 0 && flag.substr(0, eq).find('/') == std::string::npos)
    return {flag.substr(0, eq), flag.substr(eq + 1)};
  return {std::filesystem::path(flag).stem().string(), flag};
}

// The first `limit` test images (all for limit < 0) as one [N, C, 32, 32] batch in [0, 1].
void load_images(const ImageDataset& data, std::int64_t limit, Tensor<float>& x, std::vector<int>& y) {
  std::vector<std::int64_t> items(std::size_t(limit < 0 ? data.size() : std::min(limit, data.size())));
  std::iota(items.begin(), items.end(), 0);
  ImageBatcher<float>(examples::image_options(data)).load(data, items, 0, x, y);
}

std::string percent(const MeanError& m) {
  char buf[48];
  if (m.count > 1)
    std::snprintf(buf, sizeof buf, "%6.2f +- %.2f", 100 * m.mean, 100 * m.standard_error);
  else
    std::snprintf(buf, sizeof buf, "%6.2f", 100 * m.mean);
  return buf;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string attack_title(const std::string& a) {
  if (a.starts_with("suite-")) return "suite " + a.substr(6);
  return a == "fgsm" ? "FGSM" : a == "pgd" ? "PGD (Linf)" : "PGD (L2)";
}

}  // namespace

int main(int argc, char** argv) {
  examples::wait_passively(argv);
  CLI::App app{"Evaluate the robustness of saved farbound models", "farbound-eval"};
  app.option_defaults()->always_capture_default();

  std::vector<std::string> model_flags, attacks = {"fgsm", "pgd"};
  std::vector<double> epsilons = {0.0, 0.05, 0.1, 0.15, 0.2};
  std::string dataset = "fashion-mnist", data_dir, points = "common", ood = "noise", ood_dir, out_dir = "eval";
  std::string suite = "none", suite_norm = "linf";
  std::int64_t num_test = -1, batch_size = 256;
  int pgd_steps = 20, pgd_restarts = 1, deepfool_max_iter = 50, bins = 20, threads = 0;
  bool sanity = false, allow_non_finite = false;
  std::int64_t sanity_points = 500;
  std::uint64_t seed = 0;

  app.add_option("--model", model_flags, "[NAME=]PATH of a model saved by farbound-train; repeat (same NAME = seeds)")
      ->required();
  app.add_option("--dataset", dataset, "fashion-mnist, mnist or cifar10");
  app.add_option("--data-dir", data_dir, "directory of the data files (default for fashion-mnist: Debian's)");
  app.add_option("--num-test", num_test, "evaluate the first N test images")->check(examples::count_or_all(1, 100000000));
  app.add_option("--attack", attacks, "fgsm, pgd (L-inf) or pgd-l2; repeat for several")
      ->check(CLI::IsMember({"fgsm", "pgd", "pgd-l2"}));
  app.add_option("--suite", suite, "attack suite, per-point worst case: standard (APGD-CE, APGD-T, FAB-T, Square), "
                 "fast (APGD-CE, APGD-T) or none")
      ->check(CLI::IsMember({"none", "standard", "fast"}));
  app.add_option("--suite-norm", suite_norm, "norm of the suite's attacks and the sanity checks")
      ->check(CLI::IsMember({"linf", "l2"}));
  app.add_flag("--sanity", sanity, "gradient-masking checks per model at the largest --eps, in --suite-norm");
  app.add_option("--sanity-points", sanity_points, "points the gradient-masking checks use (the first N)")
      ->check(examples::integer_in<std::int64_t>(1, 100000));
  app.add_option("--eps", epsilons, "epsilon grid in pixel units")->delimiter(',')->check(examples::number_in(0, 100));
  app.add_option("--points", points, "robust accuracy on the commonly correct points, all points, or both")
      ->check(CLI::IsMember({"common", "all", "both"}));
  app.add_option("--pgd-steps", pgd_steps, "PGD steps (step size 2.5 eps / steps)")->check(examples::integer_in(1, 100000));
  app.add_option("--pgd-restarts", pgd_restarts, "PGD random restarts")->check(examples::integer_in(1, 1000));
  app.add_option("--deepfool-max-iter", deepfool_max_iter, "DeepFool iterations for rho (0: skip rho)")
      ->check(examples::integer_in(0, 100000));
  app.add_option("--ood", ood,
                 "out-of-distribution inputs: noise, none, or a data set name (fashion-mnist, mnist, cifar10)")
      ->check(CLI::IsMember({"noise", "none", "fashion-mnist", "mnist", "cifar10"}));
  app.add_option("--ood-dir", ood_dir, "directory of the out-of-distribution data set");
  app.add_option("--bins", bins, "bins of the max-softmax histogram")->check(examples::integer_in(1, 10000));
  app.add_option("--seed", seed, "seed of the PGD random starts and the noise images")
      ->check(examples::integer_in<std::uint64_t>(0, UINT64_MAX));
  app.add_option("--batch-size", batch_size, "images per forward pass")->check(examples::integer_in<std::int64_t>(1, 65536));
  app.add_option("--threads", threads, "OpenMP threads (0: OpenMP's default; more are capped at " +
                                           std::to_string(examples::max_threads) + ")")
      ->check(examples::integer_in(0, 1 << 20));
  app.add_option("--out-dir", out_dir, "where results.csv, results.json and the SVG plots go");
  app.add_flag("--allow-non-finite-weights", allow_non_finite,
               "evaluate models whose weights hold NaN or Inf (refused by default; for debugging)");

  return examples::run(app, argc, argv, [&] {
    examples::apply_threads(threads, app.get_name());
    examples::require_mode(app, "--ood-dir", ood != "noise" && ood != "none", "--ood with a data set");
    examples::require_mode(app, "--bins", ood != "none", "--ood noise or a data set");
    const bool pgd = std::count(attacks.begin(), attacks.end(), "fgsm") < std::ptrdiff_t(attacks.size());
    examples::require_mode(app, "--pgd-steps", pgd, "--attack pgd or pgd-l2");
    examples::require_mode(app, "--pgd-restarts", pgd, "--attack pgd or pgd-l2");
    examples::require_mode(app, "--suite-norm", suite != "none" || sanity, "--suite or --sanity");
    examples::require_mode(app, "--sanity-points", sanity, "--sanity");
    examples::check_output_dir("--out-dir", out_dir);
    std::sort(epsilons.begin(), epsilons.end());
    epsilons.erase(std::unique(epsilons.begin(), epsilons.end()), epsilons.end());

    // Test data and models; a model that cannot take the data is a bad model file for it.
    const examples::ImageData data = examples::load_image_data(dataset, data_dir);
    Tensor<float> x;
    std::vector<int> y;
    load_images(data.test, num_test, x, y);
    std::vector<LoadedEntry> entries;
    for (const std::string& flag : model_flags) {
      auto [setting, path] = split_model_flag(flag);
      LoadedModel<float> loaded;
      try {
        loaded = load_model<float>(path, {.allow_non_finite = allow_non_finite});
      } catch (const shape_error& e) {
        throw io_error(path + ": " + e.what());
      }
      Shape logits;
      try {
        logits = loaded.model.output_shape(x.shape().with_batch(1));
      } catch (const shape_error& e) {
        throw argument_error(path + ": the model does not take " + dataset + "'s images: " + e.what());
      }
      if (logits.rank() != 2 || logits[1] != data.test.num_classes())
        throw argument_error(path + ": the model's output " + logits.to_string() + " does not fit " + dataset + "'s " +
                             std::to_string(data.test.num_classes()) + " classes");
      entries.push_back({setting, path, std::move(loaded)});
    }
    // Out-of-distribution inputs, loaded before any work so that a mistake costs nothing.
    Tensor<float> ood_x;
    if (ood == "noise") {
      ood_x = uniform_noise<float>(x.shape(), seed);
    } else if (ood != "none") {
      const examples::ImageData other = examples::load_image_data(ood, ood_dir, {"--ood", "--ood-dir"});
      std::vector<int> unused;
      load_images(other.test, x.size(0), ood_x, unused);
      if (!(ood_x.shape().with_batch(1) == x.shape().with_batch(1)))
        throw argument_error("--ood " + ood + ": its images " + ood_x.shape().with_batch(1).to_string() +
                             " differ from the test images " + x.shape().with_batch(1).to_string());
    }
    // Settings in order of first appearance.
    std::vector<ModelGroup<float>> groups;
    for (auto& e : entries) {
      auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.name == e.setting; });
      if (it == groups.end()) it = groups.insert(groups.end(), ModelGroup<float>{e.setting, {}});
      it->models.push_back(&e.loaded.model);
    }
    std::printf("farbound-eval: %zu model(s) in %zu setting(s), %s test set (%lld images), %d threads\n",
                entries.size(), groups.size(), dataset.c_str(), static_cast<long long>(x.size(0)), max_threads());

    if (suite != "none") attacks.push_back("suite-" + suite);
    std::optional<RobustnessSuite<float>> suite_runner;
    ProgressBar bar;
    const CompareOptions compare{
        .all_points = points != "common", .common_points = points != "all", .batch_size = batch_size, .progress = {}};
    std::vector<std::pair<std::string, RobustnessComparison>> results;
    for (const std::string& name : attacks) {
      CompareOptions o = compare;
      o.progress = [&](std::int64_t done, std::int64_t total) { bar.update(attack_title(name), done, total); };
      auto run_with = [&](auto& attack) {
        results.emplace_back(name, compare_robustness<float>(groups, attack, x.view(), y, epsilons, o));
      };
      if (name.starts_with("suite-")) {
        const SuiteOptions o{.norm = suite_norm == "linf" ? Norm::linf : Norm::l2, .seed = seed, .bounds = {},
                             .batch_size = batch_size};
        suite_runner.emplace(suite == "standard" ? standard_suite<float>(o) : fast_suite<float>(o));
        run_with(*suite_runner);
      } else if (name == "fgsm") {
        Fgsm<float> attack({.batch_size = batch_size});
        run_with(attack);
      } else {
        Pgd<float> attack(PgdOptions{.norm = name == "pgd" ? Norm::linf : Norm::l2,
                                     .steps = pgd_steps,
                                     .rel_stepsize = {},
                                     .random_start = true,
                                     .restarts = pgd_restarts,
                                     .seed = seed,
                                     .bounds = {},
                                     .batch_size = batch_size});
        run_with(attack);
      }
      bar.clear();
    }

    // rho (DeepFool L2, away from each model's predictions, on all evaluated points) and the
    // softmax on out-of-distribution inputs, per model.
    std::vector<RhoResult> rho(entries.size());
    std::vector<SoftmaxProfile> ood_profile(entries.size());
    DeepFool<float> deepfool({.norm = Norm::l2, .max_iter = std::max(1, deepfool_max_iter), .batch_size = batch_size});
    for (std::size_t m = 0; m < entries.size(); ++m) {
      bar.update("rho and OOD softmax", std::int64_t(m), std::int64_t(entries.size()));
      if (deepfool_max_iter > 0) rho[m] = deepfool_rho(entries[m].loaded.model, deepfool, x.view());
      if (ood != "none") ood_profile[m] = softmax_profile(entries[m].loaded.model, ood_x.view(), bins, batch_size);
    }
    bar.clear();

    // Gradient-masking checks, per model, on the first --sanity-points points.
    std::vector<std::vector<MaskingCheck>> masking(entries.size());
    const std::int64_t checked = std::min(sanity_points, x.size(0));
    const auto labels_checked = std::span<const int>(y).first(std::size_t(checked));
    for (std::size_t m = 0; m < entries.size() && sanity; ++m) {
      bar.update("gradient-masking checks", std::int64_t(m), std::int64_t(entries.size()));
      masking[m] = gradient_masking_checks(
          entries[m].loaded.model, x.slice(0, checked), labels_checked, epsilons.back(),
          {.norm = suite_norm == "linf" ? Norm::linf : Norm::l2, .seed = seed, .batch_size = batch_size});
    }
    bar.clear();

    // ---- Tables.
    const auto& first = results.empty() ? RobustnessComparison{} : results.front().second;
    if (!results.empty())
      std::printf("\n%lld of %lld points are classified correctly by every model\n",
                  static_cast<long long>(first.common.size()), static_cast<long long>(first.points));
    for (const auto& [name, cmp] : results)
      for (const bool common : {true, false}) {
        if (cmp.groups.empty() || (common ? cmp.groups[0].common_points : cmp.groups[0].all_points).empty()) continue;
        std::printf("\n%s robust accuracy (%%) on %s\n%-16s", attack_title(name).c_str(),
                    common ? "the commonly correct points" : "all points", "setting");
        for (double e : cmp.epsilons) std::printf(" %16s", ("eps " + number(e)).c_str());
        std::printf("\n");
        for (const auto& g : cmp.groups) {
          std::printf("%-16s", g.name.c_str());
          for (const MeanError& m : (common ? g.common_summary : g.all_summary).accuracy)
            std::printf(" %16s", percent(m).c_str());
          std::printf("\n");
        }
      }
    const std::optional<examples::SuiteShares> shares =
        suite_runner ? std::optional(examples::suite_shares(suite_runner->runs())) : std::nullopt;
    if (shares) examples::print_suite_shares(*shares);
    for (std::size_t m = 0; m < entries.size() && sanity; ++m)
      examples::print_masking_checks(entries[m].path, epsilons.back(), checked, masking[m]);
    std::printf("\n%-16s %6s %16s %16s %16s %16s\n", "setting", "models", "clean acc (%)", "rho (success)",
                "DeepFool success", "OOD max softmax");
    for (const auto& g : groups) {
      std::vector<double> clean, rho_s, success, max_softmax;
      for (std::size_t m = 0; m < entries.size(); ++m) {
        if (entries[m].setting != g.name) continue;
        clean.push_back(accuracy(entries[m].loaded.model, x.view(), y, batch_size));
        rho_s.push_back(rho[m].rho_successful);
        success.push_back(rho[m].success_ratio);
        max_softmax.push_back(ood_profile[m].max.mean);
      }
      auto plain = [](const MeanError& m) {
        char buf[48];
        std::snprintf(buf, sizeof buf, m.count > 1 ? "%.4f +- %.4f" : "%.4f", m.mean, m.standard_error);
        return std::string(buf);
      };
      std::printf("%-16s %6zu %16s %16s %16s %16s\n", g.name.c_str(), g.models.size(),
                  percent(mean_standard_error(clean)).c_str(),
                  deepfool_max_iter > 0 ? plain(mean_standard_error(rho_s)).c_str() : "-",
                  deepfool_max_iter > 0 ? plain(mean_standard_error(success)).c_str() : "-",
                  ood != "none" ? plain(mean_standard_error(max_softmax)).c_str() : "-");
    }

    // ---- Files: CSV (one value per row), JSON (everything), SVG plots.
    examples::StagedDir staged(out_dir);  // every file, or none if anything fails
    const std::filesystem::path& dir = staged.path();
    std::ofstream csv(dir / "results.csv");
    if (!csv) throw io_error((dir / "results.csv").string() + ": cannot open for writing");
    csv << "setting,model,metric,attack,points,eps,value\n";
    nlohmann::json json = {{"dataset", dataset},   {"points", x.size(0)},
                           {"epsilons", epsilons}, {"common_points", first.common.size()},
                           {"ood", ood},           {"models", nlohmann::json::array()}};
    for (std::size_t m = 0; m < entries.size(); ++m) {
      const auto& e = entries[m];
      const std::string row = e.setting + "," + e.path + ",";
      nlohmann::json jm = {{"setting", e.setting}, {"file", e.path}};
      // The model's index within its setting, to find its curves.
      std::size_t group = 0, index = 0;
      for (std::size_t g = 0; g < groups.size(); ++g)
        for (std::size_t k = 0; k < groups[g].models.size(); ++k)
          if (groups[g].models[k] == &e.loaded.model) group = g, index = k;
      for (const auto& [name, cmp] : results) {
        const GroupRobustness& gr = cmp.groups[group];
        if (name == results.front().first) {
          jm["clean_accuracy"] = gr.clean_accuracy[index];
          csv << row << "clean_accuracy,,all,," << gr.clean_accuracy[index] << "\n";
        }
        for (const bool common : {true, false}) {
          const auto& curves = common ? gr.common_points : gr.all_points;
          if (curves.empty()) continue;
          const std::string which = common ? "common" : "all";
          jm["robust_accuracy"][name][which] = curves[index].accuracy;
          for (std::size_t k = 0; k < cmp.epsilons.size(); ++k)
            csv << row << "robust_accuracy," << name << "," << which << "," << cmp.epsilons[k] << ","
                << curves[index].accuracy[k] << "\n";
        }
      }
      if (deepfool_max_iter > 0) {
        jm["rho"] = {
            {"successful", rho[m].rho_successful}, {"all", rho[m].rho_all}, {"success_ratio", rho[m].success_ratio}};
        csv << row << "rho_successful,deepfool,all,," << rho[m].rho_successful << "\n"
            << row << "rho_all,deepfool,all,," << rho[m].rho_all << "\n"
            << row << "deepfool_success_ratio,deepfool,all,," << rho[m].success_ratio << "\n";
      }
      if (ood != "none") {
        const SoftmaxProfile& p = ood_profile[m];
        nlohmann::json sorted = nlohmann::json::array(), sorted_std = nlohmann::json::array();
        for (const MeanStd& s : p.sorted) sorted.push_back(s.mean), sorted_std.push_back(s.std);
        jm["ood_softmax"] = {{"sorted_mean", sorted},
                             {"sorted_std", sorted_std},
                             {"max_mean", p.max.mean},
                             {"max_std", p.max.std},
                             {"max_histogram", p.max_histogram.counts}};
        csv << row << "ood_mean_max_softmax," << ood << ",all,," << p.max.mean << "\n";
      }
      if (sanity) jm["gradient_masking"] = examples::to_json(masking[m], epsilons.back());
      json["models"].push_back(jm);
    }
    if (shares) {
      json["suite"] = examples::to_json(*shares);
      for (std::size_t k = 0; k < shares->epsilons.size(); ++k)
        for (std::size_t a = 0; a < shares->attacks.size(); ++a)
          csv << "all,all,suite_removed_share," << shares->attacks[a] << ",suite," << shares->epsilons[k] << ","
              << examples::share(*shares, k, a) << "\n";
    }
    if (results.size() > 1)
      examples::write_line_chart(dir / "robust_accuracy_all.svg", "robust accuracy, every attack",
                                 "epsilon (pixel units)", "robust accuracy",
                                 examples::all_attack_series(results, attack_title));
    for (const auto& [name, cmp] : results) {
      std::vector<examples::LineSeries> series;
      for (const auto& g : cmp.groups) {
        const CurveSummary& s = g.common_points.empty() ? g.all_summary : g.common_summary;
        examples::LineSeries line{g.name, s.epsilons, {}, {}};
        for (const MeanError& m : s.accuracy) line.y.push_back(m.mean), line.error.push_back(m.standard_error);
        series.push_back(std::move(line));
      }
      const bool common = !cmp.groups.empty() && !cmp.groups[0].common_points.empty();
      examples::write_line_chart(dir / ("robust_accuracy_" + name + ".svg"),
                                 attack_title(name) + (common ? ", commonly correct points" : ", all points"),
                                 "epsilon (pixel units)", "robust accuracy", series);
    }
    if (ood != "none") {
      std::vector<examples::StepSeries> series;
      for (const auto& g : groups) {
        examples::StepSeries s{g.name, std::vector<double>(std::size_t(bins), 0.0)};
        double total = 0;
        for (std::size_t m = 0; m < entries.size(); ++m)
          if (entries[m].setting == g.name)
            for (int b = 0; b < bins; ++b) {
              s.values[std::size_t(b)] += double(ood_profile[m].max_histogram.counts[std::size_t(b)]);
              total += double(ood_profile[m].max_histogram.counts[std::size_t(b)]);
            }
        for (double& v : s.values) v /= std::max(total, 1.0);
        series.push_back(std::move(s));
      }
      examples::write_step_chart(dir / "max_softmax.svg", "max softmax on " + ood + " inputs", "largest probability",
                                 "fraction of points", series, 0.0, 1.0);
    }
    std::ofstream(dir / "results.json") << json.dump(2) << "\n";
    staged.commit();
    std::printf("\nwrote %s/results.csv, results.json and the SVG plots\n", out_dir.c_str());
    return 0;
  });
}
