// farbound-sweep: train and evaluate every run of a grid (settings x seeds) and report the
// mean +- standard error over the seeds of each setting.
//
//   farbound-sweep grid.json --out sweep/                 # one process, runs one after another
//   mpirun -np 4 farbound-sweep grid.json --out sweep/    # four ranks, each run to a free rank
//
// The grid (support/sweep_grid.hpp) gives a base run, the axes to vary, the seeds and the
// evaluation. Every run trains as farbound-train does, in its own folder under OUT/runs/
// (support/sweep_run.hpp). Started again on the same OUT, the sweep skips the finished and
// failed runs and resumes the interrupted ones from their last checkpoint, so a killed job
// loses at most checkpoint_every epochs of each run it was running. At the end rank 0 writes
// OUT/table.{csv,json,md} and the robust-accuracy curves OUT/robust_<attack>.svg
// (support/sweep_table.hpp). OUT must be on a file system every rank sees.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "support/cli.hpp"
#include "support/flags.hpp"
#include "support/sweep_grid.hpp"
#include "support/sweep_ranks.hpp"
#include "support/sweep_run.hpp"
#include "support/sweep_table.hpp"

int main(int argc, char** argv) {
  examples::wait_passively(argv);
  examples::MpiSession mpi(argc, argv);
  CLI::App app{"Train and evaluate a grid of runs, over MPI ranks when started by mpirun", "farbound-sweep"};
  app.option_defaults()->always_capture_default();

  std::string grid_file, out_dir;
  int threads = 0;
  bool list = false;
  app.add_option("grid", grid_file, "JSON file of the grid (base, axes, seeds, evaluation)")->required();
  app.add_option("--out", out_dir, "folder of the runs and the table (shared by all ranks)")->required();
  app.add_option("--threads", threads, "OpenMP threads per rank (0: the rank's cores, or the node's cores / ranks on the node)")
      ->check(examples::integer_in(0, examples::max_threads));
  app.add_flag("--list", list, "print the runs and their state, run nothing");

  const int code = examples::run(app, argc, argv, [&] {
    const examples::SweepGrid grid = examples::read_grid(grid_file);
    examples::check_output_dir("--out", out_dir);
    const std::filesystem::path out = out_dir;

    // The runs still to do; finished and failed runs are kept as they are.
    std::vector<int> todo;
    for (std::size_t i = 0; i < grid.runs.size(); ++i) {
      const auto state = examples::run_state(examples::run_dir(out, grid.runs[i]));
      if (list && mpi.rank() == 0)
        std::printf("%-8s %s\n", state == examples::RunState::done ? "done" : state == examples::RunState::failed ? "failed" : "todo",
                    grid.runs[i].name().c_str());
      if (state == examples::RunState::pending) todo.push_back(int(i));
    }
    if (list) return 0;
    const int per_rank = threads > 0 ? threads : mpi.default_threads();
    if (mpi.rank() == 0)
      std::printf("farbound-sweep: %zu runs, %zu to do, %d ranks x %d threads\n", grid.runs.size(), todo.size(), mpi.size(),
                  per_rank);
    std::fflush(stdout);

    examples::DataCache data;
    examples::for_each_run(mpi, todo, per_rank,
                           [&](int i) { examples::execute_run(grid.runs[std::size_t(i)], grid.evaluation, out, data); });
    if (mpi.rank() != 0) return 0;
    examples::write_sweep_table(grid, out);
    std::printf("farbound-sweep: wrote %s/table.{csv,json,md}\n", out_dir.c_str());
    return 0;
  });
  if (code != 0 && mpi.size() > 1) mpi.abort(code);
  return code;
}
