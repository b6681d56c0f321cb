// The objective terms' gradients against central finite differences of their losses, and
// TRADES's loss and gradient against a PyTorch formulation of the authors' code.
#include "farbound/train/cross_entropy_term.hpp"
#include "farbound/train/trades_term.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "support/gradcheck.hpp"

using namespace farbound;

namespace {

// B = 3 clean rows (one unlabelled), A = 2 adversarial rows crafted from rows 0 and 2, C = 4.
struct TermBatch {
  Tensor<double> logits{Shape{5, 4}};
  std::vector<int> labels{1, -1, 3}, adversarial_labels{1, 3};
  std::vector<std::int64_t> crafted_from{0, 2};
  TermBatch() { testing::fill_uniform(logits.view(), 31, -2.0, 2.0); }
  StepRows<double> rows() const { return {logits.view(), 3, 2, 0, labels, adversarial_labels, crafted_from, {}, true, 3}; }
};

double term_loss(ObjectiveTerm<double>& term, TermBatch& batch, Tensor<double>& grad) {
  grad.resize(batch.logits.shape());
  grad.zero();
  return term.add(batch.rows(), grad.view()).total;
}

void check_term_gradient(ObjectiveTerm<double>& term) {
  TermBatch batch;
  Tensor<double> grad, scratch;
  term_loss(term, batch, grad);
  const double h = 1e-6;
  for (std::int64_t e = 0; e < batch.logits.numel(); ++e) {
    const double keep = batch.logits[e];
    batch.logits[e] = keep + h;
    const double up = term_loss(term, batch, scratch);
    batch.logits[e] = keep - h;
    const double down = term_loss(term, batch, scratch);
    batch.logits[e] = keep;
    INFO("logit " << e);
    CHECK(testing::relative_error(grad[e], (up - down) / (2 * h)) < 1e-7);
  }
}

}  // namespace

TEST_CASE("CrossEntropyTerm and TradesTerm gradients match finite differences", "[terms][gradcheck]") {
  CrossEntropyTerm<double> mixed(0.5, 2.0);
  check_term_gradient(mixed);
  TradesTerm<double> trades(6.0);
  check_term_gradient(trades);
}

TEST_CASE("TradesTerm is zero with a zero gradient when the adversarial rows equal their clean rows", "[terms]") {
  TermBatch batch;
  for (std::int64_t c = 0; c < 4; ++c) {
    batch.logits[3 * 4 + c] = batch.logits[0 * 4 + c];
    batch.logits[4 * 4 + c] = batch.logits[2 * 4 + c];
  }
  TradesTerm<double> trades(6.0);
  Tensor<double> grad;
  CHECK(std::abs(term_loss(trades, batch, grad)) < 1e-15);
  for (std::int64_t e = 0; e < grad.numel(); ++e) CHECK(std::abs(grad[e]) < 1e-15);
}

TEST_CASE("TRADES's loss and gradient match a PyTorch formulation", "[terms][pytorch]") {
  if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
    WARN("skipped: Debian's python3 cannot import torch");
    return;
  }
  // TRADES as the authors' trades.py writes it, on the same logits: CE over the labelled clean
  // rows (as a sum over the B rows' batch) + beta * KLDiv(sum) / B, neither side detached.
  TermBatch batch;
  batch.labels = {1, 0, 3};  // TRADES trains on labelled anchors
  std::ostringstream script;
  script.precision(17);
  script << "import torch\nimport torch.nn.functional as F\nz = torch.tensor([";
  for (std::int64_t e = 0; e < batch.logits.numel(); ++e) script << batch.logits[e] << ",";
  script << "], dtype=torch.float64).reshape(5, 4).requires_grad_()\n"
            "nat, adv = z[:3], z[3:]\ny = torch.tensor([1, 0, 3])\n"
            "kl = torch.nn.KLDivLoss(reduction='sum')(F.log_softmax(adv, dim=1), F.softmax(nat[[0, 2]], dim=1))\n"
            "loss = F.cross_entropy(nat, y) + 6.0 * kl / 3\nloss.backward()\n"
            "print(repr(loss.item()), *[repr(g) for g in z.grad.flatten().tolist()])\n";
  const std::string path = "/tmp/farbound_trades_check.py";
  if (FILE* f = std::fopen(path.c_str(), "w")) {
    std::fputs(script.str().c_str(), f);
    std::fclose(f);
  }
  FILE* pipe = popen(("/usr/bin/python3 " + path).c_str(), "r");
  REQUIRE(pipe);
  std::vector<double> torch_values;
  double v = 0;
  while (std::fscanf(pipe, "%lf", &v) == 1) torch_values.push_back(v);
  pclose(pipe);
  std::remove(path.c_str());
  REQUIRE(torch_values.size() == 21);

  CrossEntropyTerm<double> ce;
  TradesTerm<double> trades(6.0);
  Tensor<double> grad(Shape{5, 4});
  grad.zero();
  const auto rows = batch.rows();
  const double loss = ce.add(rows, grad.view()).total + trades.add(rows, grad.view()).total;
  CHECK(testing::relative_error(loss, torch_values[0]) < 1e-5);
  for (std::int64_t e = 0; e < 20; ++e) CHECK(testing::relative_error(grad[e], torch_values[std::size_t(e) + 1]) < 1e-5);
}
