#pragma once
// ObjectiveTerm<T>: one part of a training loss. A training step runs one forward over
//   [clean anchors (B); adversarial rows (A); K neighbours of every one of those B + A anchors]
// and hands every term of its list the logits of all rows (StepRows); each term adds its
// loss and its gradient d(loss)/d(logits) into the step's gradient, which the step then sends
// back through the model once. Cross-entropy, the smoothness loss, the Jacobian penalty and
// TRADES's KL term are terms; a researcher's own term is one more class (see
// examples/custom_regulariser.cpp) and needs no change to the library.
//
// Every loss is normalised by B, the anchors of the step, as the reference normalises its
// cross-entropy and regulariser. A data-parallel step (distributed/gradient_sum.hpp) hands
// the terms one shard of its batch at a time: `clean` is then the shard's anchors and
// `step_anchors` the whole step's B, which every term divides by, so that the shards'
// gradients add up to the whole batch's.
//
// A step without neighbours whose terms all say they do not read the clean rows
// (reads_clean_rows(), e.g. Madry et al.'s adversarial-only cross-entropy) leaves those B
// rows out of its forward and backward: the logits then start at the adversarial rows.
#include <cstdint>
#include <span>

#include "farbound/core/tensor.hpp"

namespace farbound {

// What a term sees of one step.
template <class T>
struct StepRows {
  TensorView<const T> logits;                  // [(B + A) * (1 + K), C]; [A, C] without the clean rows
  std::int64_t clean = 0;                      // B
  std::int64_t adversarial = 0;                // A
  std::int64_t neighbours_per_anchor = 0;      // K
  std::span<const int> labels;                 // the B clean anchors' labels, -1 = unlabelled
  std::span<const int> adversarial_labels;     // the A adversarial rows' labels
  std::span<const std::int64_t> crafted_from;  // the clean row each adversarial row was crafted from
  TensorView<const T> squared_distances;       // r = ||x_nk - x_n||^2 of the neighbours, [(B + A) * K]
  bool has_clean_rows = true;                  // false: the step left the B clean rows out (see above)
  std::int64_t step_anchors = 0;               // the whole step's B (all shards), what every loss is divided by

  // B + A: the clean and adversarial anchors.
  std::int64_t anchors() const { return clean + adversarial; }
  // The B clean anchors' logits (only with has_clean_rows).
  TensorView<const T> clean_logits() const { return logits.slice(0, clean); }
  // The logits' row of the first adversarial row: B, or 0 without the clean rows.
  std::int64_t adversarial_row() const { return has_clean_rows ? clean : 0; }
  // The A adversarial rows' logits.
  TensorView<const T> adversarial_logits() const { return logits.slice(adversarial_row(), adversarial); }
  // All B + A anchors' logits, clean then adversarial (only with has_clean_rows).
  TensorView<const T> anchor_logits() const { return logits.slice(0, anchors()); }
  // The neighbours' logits, K per anchor in anchor order: [(B + A) * K, C].
  TensorView<const T> neighbour_logits() const { return logits.slice(anchors(), anchors() * neighbours_per_anchor); }
};

// A term's contribution, for the epoch statistics: its loss, and how much of it is
// cross-entropy or a regulariser (the latter without its weight, as the reference logs it).
struct TermLoss {
  double cross_entropy = 0;  // the cross-entropy part
  double regulariser = 0;    // the regulariser part, without its weight
  double total = 0;          // the term's whole loss, weights included

  // Adds another term's parts to these.
  TermLoss& operator+=(const TermLoss& o) {
    cross_entropy += o.cross_entropy;
    regulariser += o.regulariser;
    total += o.total;
    return *this;
  }
};

// Interface of one part of the training loss (see above).
template <class T>
class ObjectiveTerm {
 public:
  virtual ~ObjectiveTerm() = default;
  // Adds d(loss)/d(logits) into grad (shaped like rows.logits) and returns the loss.
  virtual TermLoss add(const StepRows<T>& rows, TensorView<T> grad) = 0;
  // Whether add() reads the clean rows' logits; when no term does, the step leaves them out.
  virtual bool reads_clean_rows() const { return true; }
};

}  // namespace farbound
