// mpirun -np N test_mpi_data_parallel_step: data-parallel training steps as docs/design.md
// describes them ("Scale-out"), checked against one process. An MLP takes 5 Adam steps on
// batches of 32 cut into 8 shards (on 3 ranks: 2, 3 and 3 of them); every rank computes its
// shards' parameter gradients one shard at a time (cross-entropy normalised by the global
// batch), MpiGradientSum adds all shards in the fixed order, every rank steps. The
// reference, on every rank, computes all 8 shards itself and adds them with
// fixed_order_sum. The weights must be the same bits. A plain main (exit 1 on failure)
// because Catch2's runner knows nothing of MPI ranks.
#include <mpi.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "farbound/distributed/mpi_gradient_sum.hpp"
#include "farbound/nn/loss.hpp"
#include "farbound/nn/zoo.hpp"
#include "farbound/optim/adam.hpp"

using namespace farbound;

namespace {

constexpr std::int64_t shards = 8, batch = 32, rows = batch / shards;

// The parameter gradients of shards [range.first, range.last), one flat vector per shard,
// one after another.
std::vector<float> shard_gradients(Sequential<float>& model, const Tensor<float>& x, const std::vector<int>& y,
                                   ShardRange range) {
  std::vector<float> out;
  Tensor<float> grad;
  for (std::int64_t s = range.first; s < range.last; ++s) {
    for (Parameter<float>* p : model.parameters()) p->grad.zero();
    const auto logits = model.forward(TensorView<const float>(x.slice(s * rows, rows)));
    cross_entropy<float>(logits, std::span<const int>(y).subspan(std::size_t(s * rows), rows), grad);
    for (std::int64_t i = 0; i < grad.numel(); ++i) grad.data()[i] *= float(rows) / float(batch);  // mean over B
    model.backward(grad.view());
    for (Parameter<float>* p : model.parameters()) out.insert(out.end(), p->grad.data(), p->grad.data() + p->grad.numel());
  }
  return out;
}

void set_gradients(Sequential<float>& model, const std::vector<float>& sum) {
  std::size_t at = 0;
  for (Parameter<float>* p : model.parameters()) {
    std::memcpy(p->grad.data(), sum.data() + at, std::size_t(p->grad.numel()) * sizeof(float));
    at += std::size_t(p->grad.numel());
  }
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const ModelSpec spec{.arch = "mlp", .activation = "tanh", .in_channels = 1, .image_size = 6, .num_classes = 10,
                       .hidden = {24}, .mean = {0.0}, .stddev = {1.0}};
  Sequential<float> reference = build_model<float>(spec, 7), parallel = build_model<float>(spec, 7);
  Adam<float> reference_step(reference.parameters(), 1e-2), parallel_step(parallel.parameters(), 1e-2);
  MpiGradientSum<float> sum(MPI_COMM_WORLD, shards);
  std::int64_t n = 0;
  for (Parameter<float>* p : reference.parameters()) n += p->grad.numel();
  const std::vector<float> initial(reference.parameters()[0]->value.data(), reference.parameters()[0]->value.data() + 8);

  std::mt19937 bits(11);  // the same batches on every rank
  Tensor<float> x({batch, 1, 6, 6});
  std::vector<int> y(batch);
  std::vector<float> total(std::size_t(n), 0.0f);
  for (int step = 0; step < 5; ++step) {
    for (std::int64_t i = 0; i < x.numel(); ++i) x.data()[i] = float(bits() % 1000) / 1000.0f;
    for (int& label : y) label = int(bits() % 10);
    fixed_order_sum<float>(shard_gradients(reference, x, y, {0, shards}), shards, total);
    set_gradients(reference, total);
    reference_step.step();
    sum(shard_gradients(parallel, x, y, sum.shards()), total);
    set_gradients(parallel, total);
    parallel_step.step();
  }

  int failures = 0;
  const auto ps = reference.parameters(), qs = parallel.parameters();
  for (std::size_t i = 0; i < ps.size(); ++i)
    if (std::memcmp(ps[i]->value.data(), qs[i]->value.data(), std::size_t(ps[i]->value.numel()) * sizeof(float)) != 0) {
      std::fprintf(stderr, "rank %d: parameter %zu differs from the one-process run\n", rank, i);
      ++failures;
    }
  if (std::memcmp(initial.data(), ps[0]->value.data(), initial.size() * sizeof(float)) == 0) {
    std::fprintf(stderr, "rank %d: the steps changed nothing\n", rank);
    ++failures;
  }
  int all = 0;
  MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  MPI_Finalize();
  return all == 0 ? 0 : 1;
}
