#pragma once
// farbound-oracle's report: what was measured on each classifier, printed as Markdown
// tables (accuracy, eta-hat per oracle radius, the invisible attack, ARC and ARCA; eta-hat
// with its interval; d1' against d2').
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "farbound/theory/arc.hpp"
#include "farbound/theory/strong_robustness.hpp"
#include "farbound/theory/topology.hpp"
#include "support/number_text.hpp"
#include "support/oracle_flags.hpp"

namespace examples {

// What was measured on one classifier.
struct OracleRow {
  OracleRow(std::string n, std::string c) : name(std::move(n)), colour(std::move(c)) {}
  std::string name, colour;
  double accuracy = 0, accuracy_decorrelated = 0;
  std::vector<farbound::EtaEstimate> eta;  // one per delta2
  farbound::EtaEstimate attack;
  farbound::ArcResult arc, arc_held;
  std::vector<farbound::DistanceRatios> topology;  // one per radius
};

namespace detail {

inline std::string with_interval(const farbound::EtaEstimate& e) {
  return fixed(e.eta) + " [" + fixed(e.interval.lower) + ", " + fixed(e.interval.upper) + "]";
}

}  // namespace detail

// The tables; `confidence` is the intervals', `radii` and `topology_points` those of the
// d1'/d2' comparison.
inline void print_oracle_report(const std::vector<OracleRow>& rows, const OracleSettings& s, double confidence,
                                const std::vector<double>& radii, std::int64_t topology_points) {
  using ll = long long;
  std::printf("## Oracle-relative robustness: n = %lld relevant + m = %lld extra features\n\n", ll(s.relevant),
              ll(s.extra));
  std::printf("%lld training / %lld test points, margin %g, extras shifted by +-%g with the label; MLP %lld-%lld-2 "
              "(tanh), %d epochs; pairs: %lld per test point and delta2, extras moved by up to %g.\n\n",
              ll(s.train), ll(s.test), s.margin, s.spurious, ll(s.relevant + s.extra), ll(s.hidden), s.epochs,
              ll(s.draws), s.invisible_radius);
  std::printf("| classifier | accuracy | accuracy, extras decorrelated |");
  for (double delta2 : s.deltas) std::printf(" eta-hat d2=%g |", delta2);
  std::printf(" eta-hat, invisible attack | ARC | ARCA | ARC, extras held |\n|---|---|---|");
  for (std::size_t i = 0; i < s.deltas.size(); ++i) std::printf("---|");
  std::printf("---|---|---|---|\n");
  for (const OracleRow& r : rows) {
    std::printf("| %s | %.3f | %.3f |", r.name.c_str(), r.accuracy, r.accuracy_decorrelated);
    for (const farbound::EtaEstimate& e : r.eta) std::printf(" %s |", fixed(e.eta).c_str());
    std::printf(" %s | %s | %s | %s |\n", fixed(r.attack.eta).c_str(), fixed(r.arc.arc).c_str(),
                fixed(r.arc.arca).c_str(), fixed(r.arc_held.arc).c_str());
  }

  std::printf("\neta-hat with its %.0f%% Clopper-Pearson interval (pairs = draws with f2(x') = f2(x)):\n\n",
              100 * confidence);
  std::printf("| delta2 |");
  for (const OracleRow& r : rows) std::printf(" %s |", r.name.c_str());
  std::printf(" pairs (A) |\n|---|");
  for (std::size_t m = 0; m < rows.size(); ++m) std::printf("---|");
  std::printf("---|\n");
  for (std::size_t i = 0; i < s.deltas.size(); ++i) {
    std::printf("| %g |", s.deltas[i]);
    for (const OracleRow& r : rows) std::printf(" %s |", detail::with_interval(r.eta[i]).c_str());
    std::printf(" %lld / %lld |\n", ll(rows[0].eta[i].pairs), ll(rows[0].eta[i].draws));
  }
  std::printf("| invisible attack |");
  for (const OracleRow& r : rows) std::printf(" %s |", detail::with_interval(r.attack).c_str());
  std::printf(" %lld / %lld |\n", ll(rows[0].attack.pairs), ll(rows[0].attack.draws));

  std::printf("\nd1' (last hidden layer) against d2' (the oracle's coordinates) on pairs at radius delta2 "
              "(%lld points x 20 pairs):\n\n| delta2 |",
              ll(topology_points));
  for (const OracleRow& r : rows) std::printf(" %s: max d1' | max d1'/d2' | max d2'/d1' |", r.name.c_str());
  std::printf("\n|---|");
  for (std::size_t m = 0; m < rows.size(); ++m) std::printf("---|---|---|");
  std::printf("\n");
  for (std::size_t i = 0; i < radii.size(); ++i) {
    std::printf("| %g |", radii[i]);
    for (const OracleRow& r : rows)
      std::printf(" %s | %s | %s |", significant(r.topology[i].max_d1, 3).c_str(),
                  significant(r.topology[i].max_d1_over_d2, 3).c_str(),
                  significant(r.topology[i].max_d2_over_d1, 3).c_str());
    std::printf("\n");
  }
  std::printf("\nARC, ARCA: the oracle distance of the nearest flip with the extras free to move by up to %g "
              "(free for the oracle), then the relevant coordinates; 'extras held': relevant coordinates only. "
              "Points without a flip found (left out):",
              s.invisible_radius);
  for (const OracleRow& r : rows)
    std::printf(" %s %lld / %lld;", r.name.c_str(), ll(r.arc.items - r.arc.resolved),
                ll(r.arc_held.items - r.arc_held.resolved));
  std::printf("\n");
}

}  // namespace examples
