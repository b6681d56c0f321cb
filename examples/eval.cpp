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
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "farbound/attack/fgsm.hpp"
#include "farbound/attack/pgd.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/metrics/robust_accuracy.hpp"
#include "farbound/metrics/standard_suite.hpp"
#include "farbound/train/progress.hpp"
#include "support/cli.hpp"
#include "support/eval_files.hpp"
#include "support/eval_flags.hpp"
#include "support/eval_inputs.hpp"
#include "support/eval_measures.hpp"
#include "support/eval_tables.hpp"

int main(int argc, char** argv) {
  using namespace farbound;
  examples::wait_passively(argv);
  CLI::App app{"Evaluate the robustness of saved farbound models", "farbound-eval"};
  examples::EvalFlags f;
  examples::add_eval_flags(app, f);

  return examples::run(app, argc, argv, [&] {
    examples::check_eval_flags(app, f);

    // Test data and models, checked against each other before any work.
    const examples::ImageData data = examples::load_image_data(f.dataset, f.data_dir);
    Tensor<float> x;
    std::vector<int> y;
    examples::load_images(data.test, f.num_test, x, y);
    std::vector<examples::ModelEntry> entries = examples::load_models(f, data.test, x);
    const Tensor<float> ood_x = examples::ood_inputs(f, x);
    const std::vector<ModelGroup<float>> groups = examples::group_by_setting(entries);
    std::printf("farbound-eval: %zu model(s) in %zu setting(s), %s test set (%lld images), %d threads\n",
                entries.size(), groups.size(), f.dataset.c_str(), static_cast<long long>(x.size(0)), max_threads());

    // Robust accuracy under each attack over the epsilon grid, every setting on the same points.
    examples::AttackComparisons comparisons;
    std::optional<RobustnessSuite<float>> suite;
    ProgressBar bar;
    for (const std::string& name : f.attacks) {
      const CompareOptions options{
          .all_points = f.points != "common",
          .common_points = f.points != "all",
          .batch_size = f.batch_size,
          .progress = [&](std::int64_t done, std::int64_t total) {
            bar.update(examples::attack_title(name), done, total);
          }};
      auto compare_with = [&](auto& attack) {
        comparisons.emplace_back(name, compare_robustness<float>(groups, attack, x.view(), y, f.epsilons, options));
      };
      if (name.starts_with("suite-")) {
        const SuiteOptions o{.norm = f.suite_norm_value(), .seed = f.seed, .bounds = {}, .batch_size = f.batch_size};
        suite.emplace(f.suite == "standard" ? standard_suite<float>(o) : fast_suite<float>(o));
        compare_with(*suite);
      } else if (name == "fgsm") {
        Fgsm<float> fgsm({.batch_size = f.batch_size});
        compare_with(fgsm);
      } else {
        Pgd<float> pgd(PgdOptions{.norm = name == "pgd" ? Norm::linf : Norm::l2, .steps = f.pgd_steps,
                                  .rel_stepsize = {}, .random_start = true, .restarts = f.pgd_restarts,
                                  .seed = f.seed, .bounds = {}, .batch_size = f.batch_size});
        compare_with(pgd);
      }
      bar.clear();
    }
    const std::optional<examples::SuiteShares> shares =
        suite ? std::optional(examples::suite_shares(suite->runs())) : std::nullopt;

    // Each model on its own: clean accuracy, rho, OOD softmax, gradient-masking checks.
    const examples::ModelMeasures measures = examples::measure_models(f, entries, x, y, ood_x);

    examples::print_eval_tables(f, groups, entries, comparisons, shares, measures);
    examples::write_eval_files(f, x.size(0), groups, entries, comparisons, shares, measures);
    return 0;
  });
}
