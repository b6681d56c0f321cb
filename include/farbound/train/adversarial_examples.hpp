#pragma once
// AdversarialExamples<T>: how a training step crafts the adversarial rows of its batch from
// the labelled clean anchors. The step trains on them in train mode; crafting runs in eval
// mode (the model comes back in the mode it had, also on an exception), as Madry et al.'s
// and the TRADES authors' code do.
//   FgsmExamples  attack/fgsm.hpp: x + eps sign(grad_x CE), clipped to the bounds
//   PgdExamples   attack/pgd.hpp: k steps from a random start, L-inf or L2 (Madry et al. 2018)
//   TradesExamples (trades_examples.hpp): k sign steps that maximise TRADES's KL term
// train/ sits above attack/ in the data flow (docs/design.md): the attacks only call a model,
// so training uses the library's one FGSM and one PGD (their run_unscored: the step needs the
// points, not the attack's score of them).
#include <cstdint>
#include <limits>
#include <span>

#include "farbound/attack/bounds.hpp"
#include "farbound/attack/fgsm.hpp"
#include "farbound/attack/pgd.hpp"
#include "farbound/core/random.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound {

// Where in the run a batch is crafted, for randomness keyed like every other draw.
struct CraftContext {
  std::uint32_t epoch = 0;                    // the epoch, from 0
  std::int64_t step = 0;                      // within the epoch
  std::span<const std::uint32_t> anchor_ids;  // the anchor id of every row
  std::int64_t shard = 0;                     // the shard of the step's batch the rows belong to
};

// Interface of a way to craft the adversarial rows of a training step.
template <class T>
class AdversarialExamples {
 public:
  virtual ~AdversarialExamples() = default;
  // x_adv = adversarial examples of the rows x [A, ...] with labels [A].
  virtual void craft(Sequential<T>& model, TensorView<const T> x, std::span<const int> labels, const CraftContext& at,
                     Tensor<T>& x_adv) = 0;
};

// FGSM examples (attack/fgsm.hpp): x + eps sign(grad_x CE), clipped to the bounds.
template <class T>
class FgsmExamples final : public AdversarialExamples<T> {
 public:
  // eps: the step (and radius); bounds: the box the examples are clipped to.
  FgsmExamples(double eps, Bounds bounds)
      : eps_(eps), fgsm_(FgsmOptions{.bounds = bounds, .batch_size = std::numeric_limits<std::int64_t>::max()}) {}

  void craft(Sequential<T>& model, TensorView<const T> x, std::span<const int> labels, const CraftContext&,
             Tensor<T>& x_adv) override {
    fgsm_.run_unscored(model, x, labels, eps_, x_adv);
  }

 private:
  double eps_;
  Fgsm<T> fgsm_;
};

// PGD examples (attack/pgd.hpp, Madry et al. 2018): k steps from a random start within eps,
// L-inf or L2, with a fresh random start every training step and shard of its batch (the
// starts are keyed by the row within the shard: a data-parallel step crafts shard by shard).
template <class T>
class PgdExamples final : public AdversarialExamples<T> {
 public:
  // options.seed keys the random starts: each step and shard draws its own from (seed, epoch,
  // step, shard).
  PgdExamples(double eps, PgdOptions options) : eps_(eps), seed_(options.seed), pgd_(with_one_batch(options)) {}

  void craft(Sequential<T>& model, TensorView<const T> x, std::span<const int> labels, const CraftContext& at,
             Tensor<T>& x_adv) override {
    const auto words = RandomStream(seed_, Purpose::adversarial_training, at.epoch, std::uint32_t(at.step),
                                    std::uint32_t(1 + at.shard)).block(0);
    pgd_.set_seed(std::uint64_t(words[0]) << 32 | words[1]);
    pgd_.run_unscored(model, x, labels, eps_, x_adv);
  }

 private:
  static PgdOptions with_one_batch(PgdOptions o) {
    o.batch_size = std::numeric_limits<std::int64_t>::max();
    return o;
  }

  double eps_;
  std::uint64_t seed_;
  Pgd<T> pgd_;
};

}  // namespace farbound
