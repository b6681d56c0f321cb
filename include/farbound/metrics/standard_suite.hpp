#pragma once
// The published ensembles of RobustnessSuite (Croce & Hein, ICML 2020, AutoAttack):
//   standard: APGD-CE, APGD-T (targeted DLR, 9 targets), FAB-T (9 targets), Square (5000
//             queries); 100 iterations and one restart each.
//   fast:     APGD-CE, APGD-T: the gradient-based half, for quick checks during research.
// The members need four classes at least (the DLR loss).
#include <cstdint>
#include <vector>

#include "farbound/attack/apgd.hpp"
#include "farbound/attack/bounds.hpp"
#include "farbound/attack/fab.hpp"
#include "farbound/attack/norm.hpp"
#include "farbound/attack/square.hpp"
#include "farbound/metrics/robustness_suite.hpp"

namespace farbound {

// Settings shared by the members of the attack suites: norm, seed, bounds, batch size.
struct SuiteOptions {
  // The norm of the radius.
  Norm norm = Norm::linf;
  // Seed of its random numbers.
  std::uint64_t seed = 0;
  // The box the inputs and results stay in.
  Bounds bounds{};
  // Items per forward pass.
  std::int64_t batch_size = 256;
};

// The gradient attacks of the suites: APGD-CE and APGD-T.
template <class T>
std::vector<SuiteAttack<T>> gradient_members(const SuiteOptions& o) {
  std::vector<SuiteAttack<T>> members;
  for (ApgdLoss loss : {ApgdLoss::cross_entropy, ApgdLoss::targeted_dlr})
    members.emplace_back(std::string("APGD-") + (loss == ApgdLoss::cross_entropy ? "CE" : "T"),
                         Apgd<T>({.norm = o.norm,
                                  .loss = loss,
                                  .steps = 100,
                                  .restarts = 1,
                                  .target_classes = 9,
                                  .seed = o.seed,
                                  .bounds = o.bounds,
                                  .batch_size = o.batch_size}));
  return members;
}

// APGD-CE and APGD-T: the quick suite.
template <class T>
RobustnessSuite<T> fast_suite(const SuiteOptions& o = {}) {
  return RobustnessSuite<T>(gradient_members<T>(o), o.batch_size);
}

// APGD-CE, APGD-T, FAB-T and Square: the suite of AutoAttack's standard version.
template <class T>
RobustnessSuite<T> standard_suite(const SuiteOptions& o = {}) {
  std::vector<SuiteAttack<T>> members = gradient_members<T>(o);
  members.emplace_back("FAB-T", Fab<T>({.norm = o.norm,
                                        .steps = 100,
                                        .target_classes = 9,
                                        .alpha_max = 0.1,
                                        .eta = 1.05,
                                        .beta = 0.9,
                                        .bounds = o.bounds,
                                        .batch_size = o.batch_size}));
  members.emplace_back("Square", Square<T>({.norm = o.norm,
                                            .queries = 5000,
                                            .p_init = 0.8,
                                            .restarts = 1,
                                            .seed = o.seed,
                                            .bounds = o.bounds,
                                            .batch_size = o.batch_size}));
  return RobustnessSuite<T>(std::move(members), o.batch_size);
}

}  // namespace farbound
