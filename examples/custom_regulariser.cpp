// A regulariser of one's own, trained without changing the library: logit pairing between
// every anchor and its noisy neighbours,
//   L_pair = lambda * (1/B) * sum_i (1/K) sum_k ||z_i - z_ik||^2,
// added to the cross-entropy. A term sees the logits of the whole step (StepRows: clean
// anchors, then their K neighbours each) and adds its loss and d(loss)/d(logits); the
// TrainingLoop sends the sum back through the model once.
//
//   farbound-custom-regulariser
#include <cstdio>
#include <memory>

#include "farbound/data/toy.hpp"
#include "farbound/nn/zoo.hpp"
#include "farbound/optim/adam.hpp"
#include "farbound/optim/schedule.hpp"
#include "farbound/train/cross_entropy_term.hpp"
#include "farbound/train/evaluate.hpp"
#include "farbound/train/training_loop.hpp"

using namespace farbound;

class LogitPairing final : public ObjectiveTerm<float> {
 public:
  explicit LogitPairing(double lambda) : lambda_(lambda) {}

  TermLoss add(const StepRows<float>& rows, TensorView<float> grad) override {
    const std::int64_t b = rows.clean, k = rows.neighbours_per_anchor, c = rows.logits.size(1);
    const double w = lambda_ / double(rows.step_anchors * k);  // 1/B of the whole step, also when it is sharded
    double sum = 0;
    for (std::int64_t i = 0; i < b; ++i)
      for (std::int64_t n = b + i * k; n < b + (i + 1) * k; ++n)
        for (std::int64_t j = 0; j < c; ++j) {
          const double diff = double(rows.logits[i * c + j]) - double(rows.logits[n * c + j]);
          sum += diff * diff;
          grad[i * c + j] += float(2 * w * diff);
          grad[n * c + j] -= float(2 * w * diff);
        }
    return {.cross_entropy = 0, .regulariser = sum / double(rows.step_anchors * k), .total = w * sum};
  }

 private:
  double lambda_;
};

int main() {
  const Dataset<float> moons = two_moons<float>(1000, 1, 0.15);
  Sequential<float> model = build_model<float>({.arch = "mlp", .activation = "tanh", .in_channels = 2, .image_size = 1,
                                                .num_classes = 2, .hidden = {32, 32}, .mean = {0, 0}, .stddev = {1, 1}},
                                               7);
  const int epochs = 20, batch = 50;
  Adam<float> adam(model.parameters(), 1e-2);
  const CosineLR schedule(1e-2, epochs * steps_per_epoch(moons.size(), 0, batch));

  TrainingLoop<float, GaussianNoise, GaussianNoise>::Parts parts{
      .model = model,
      .optimizer = adam,
      .schedule = schedule,
      .data = plain_source<float>(moons),
      .cloud = UnlabelledCloud<GaussianNoise>(moons.size(), 0, GaussianNoise(0.0), 7),
      .neighbours = Neighbours<GaussianNoise>(4, GaussianNoise(0.1), 7),  // K = 4 at sigma 0.1
      .adversarial = nullptr,
      .batch_size = batch};
  parts.terms.push_back(std::make_unique<CrossEntropyTerm<float>>());
  parts.terms.push_back(std::make_unique<LogitPairing>(0.5));
  TrainingLoop<float, GaussianNoise, GaussianNoise> loop(std::move(parts));

  for (int e = 0; e < epochs; ++e) {
    const EpochStats s = loop.run_epoch();
    if ((e + 1) % 5 == 0)
      std::printf("epoch %2d: cross-entropy %.4f, logit pairing %.4f, train accuracy %.1f%%\n", e + 1, s.cross_entropy,
                  s.regulariser, 100 * s.train_accuracy);
  }
  std::printf("accuracy on the moons: %.1f%%\n", 100 * evaluate(model, plain_source<float>(moons)).accuracy);
  return 0;
}
