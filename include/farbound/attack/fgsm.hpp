#pragma once
// The fast gradient sign method (Goodfellow, Shlens, Szegedy 2015):
//   x_adv = clip_bounds( x + eps * sign(grad_x CE(f(x), y)) )
// which is one L-inf PGD step of size eps from x itself (no random start), so it is written
// as exactly that. At eps = 0 it returns x unchanged, bit for bit.
#include <cstdint>
#include <span>
#include <string>

#include "farbound/attack/bounds.hpp"
#include "farbound/attack/norm.hpp"
#include "farbound/attack/pgd.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound {

// Settings of Fgsm: bounds and batch size.
struct FgsmOptions {
  // The box the inputs and results stay in.
  Bounds bounds{};
  // Items per forward pass.
  std::int64_t batch_size = 256;
};

// FGSM (Goodfellow et al. 2015): one step of eps * sign(grad_x CE) inside the bounds.
template <class T>
class Fgsm {
 public:
  // An FGSM attack with `options`.
  explicit Fgsm(FgsmOptions options = {})
      : pgd_(PgdOptions{.norm = Norm::linf,
                        .steps = 1,
                        .rel_stepsize = 1.0,
                        .random_start = false,
                        .restarts = 1,
                        .seed = 0,
                        .bounds = options.bounds,
                        .batch_size = options.batch_size},
             "FGSM") {}

  // Its name in reports.
  const std::string& name() const { return pgd_.name(); }

  // x_adv = the attack on every item of x [N, ...] with labels [N]; see Pgd::run.
  void run(Sequential<T>& model, TensorView<const T> x, std::span<const int> labels, double eps, Tensor<T>& x_adv) {
    pgd_.run(model, x, labels, eps, x_adv);
  }
  // x_adv as run() gives it, without the forward pass that scores it (adversarial training);
  // see Pgd::run_unscored.
  void run_unscored(Sequential<T>& model, TensorView<const T> x, std::span<const int> labels, double eps,
                    Tensor<T>& x_adv) {
    pgd_.run_unscored(model, x, labels, eps, x_adv);
  }
  // Per item of the last run: whether the prediction at the returned point differs from the label.
  std::span<const std::uint8_t> fooled() const { return pgd_.fooled(); }
  // Per item of the last run: the cross-entropy at the returned point.
  std::span<const double> losses() const { return pgd_.losses(); }

 private:
  Pgd<T> pgd_;
};

}  // namespace farbound
