// The GEMM's two paths side by side at any shape (C = A B, float, row-major): packed
// (packed_gemm.hpp) and streamed (gemm.hpp's streamed_gemm), on one thread as gemm runs them
// or over every thread as parallel_gemm splits them, and the one gemm picks (gemm_packs).
// Both give the same bits, so only speed decides between them; where gemm's pick loses on
// some machine, this shows by how much (gemm.hpp: worth_packing, gemm_packs).
//
// Usage: gemm_paths [--a-columns] threads M N K [M N K ...]   e.g. gemm_paths 1 64 120 400
// --a-columns stores A column by column (A^T row-major, as the Winograd input gradient's U^T),
// which the streamed kernel broadcasts from a row of A^T apart at every step.
// Each figure is the median over calls (at least 5, about 0.2 GFLOP in all), wall clock.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "farbound/core/parallel.hpp"
#include "farbound/core/random.hpp"
#include "farbound/nn/detail/gemm.hpp"
#include "support/driver.hpp"

namespace {
using namespace farbound;
using namespace farbound::bench;

// GFLOP/s of product(), the median over calls.
template <class Product>
double rate(Product&& product, double flops) {
  return flops / median(call_seconds(std::max(5, int(2e8 / flops)), product)) * 1e-9;
}

void compare_paths(int threads, bool a_columns, std::int64_t M, std::int64_t N, std::int64_t K) {
  Tensor<float> a({M, K}), b({K, N}), c({M, N});
  RandomStream(1, Purpose::user, 0).uniform(a.span());
  RandomStream(1, Purpose::user, 1).uniform(b.span());
  const detail::StridedMatrix<float> A = a_columns ? detail::StridedMatrix<float>{a.data(), 1, M}
                                                  : detail::StridedMatrix<float>{a.data(), K, 1};
  const detail::StridedRows<float> B{b.data(), N};
  const detail::StridedC<float> C{c.data(), N};
  const auto overwrite = detail::GemmOutput::overwrite;
  const double flops = 2.0 * double(M) * double(N) * double(K);
  const bool one = threads == 1;
  const double packed = rate([&] {
    if (one) detail::packed_gemm<float>(0, M, 0, N, K, A, B, C, false);
    else detail::parallel_packed_gemm<float>(M, N, K, A, B, C, false);
  }, flops);
  const double streamed = rate([&] {
    if (one) detail::gemm_impl::streamed_gemm<float>(M, N, K, A, B, c.data(), N, overwrite);
    else detail::parallel_streamed_gemm<float>(M, N, K, A, B, c.data(), N, overwrite);
  }, flops);
  const bool packs = detail::gemm_impl::gemm_packs<float>(M, N, K, A);
  std::printf("  %6lld %6lld %6lld %9.0f  %8.1f %9.1f   %-8s %5.2f\n", (long long)M, (long long)N, (long long)K,
              double(K * N) * sizeof(float) / 1024, packed, streamed, packs ? "packed" : "streamed",
              (packs ? packed : streamed) / std::max(packed, streamed));
}

// A positive integer argument up to `most`, or 0.
std::int64_t parse(const char* text, std::int64_t most) {
  char* end = nullptr;
  const long long v = std::strtoll(text, &end, 10);
  return *text != '\0' && *end == '\0' && v >= 1 && v <= most ? std::int64_t(v) : 0;
}

}  // namespace

int main(int argc, char** argv) {
  const char* usage =
      "gemm_paths [--a-columns] threads M N K [M N K ...]   (each size 1 .. 65536, each matrix up to 2^28 floats)";
  const bool a_columns = argc > 1 && std::string(argv[1]) == "--a-columns";
  if (a_columns) {
    --argc;
    ++argv;
  }
  if (argc < 5 || (argc - 2) % 3 != 0) {
    std::fprintf(stderr, "usage: %s\n", usage);
    return 2;
  }
  const int threads = int(parse(argv[1], 1024));
  std::vector<std::int64_t> sizes;
  for (int i = 2; i < argc; ++i) sizes.push_back(parse(argv[i], 65536));
  const auto too_large = [](std::int64_t x, std::int64_t y) { return x * y > (std::int64_t(1) << 28); };
  for (std::size_t s = 0; s < sizes.size(); s += 3)
    if (!threads || !sizes[s] || !sizes[s + 1] || !sizes[s + 2] || too_large(sizes[s], sizes[s + 2]) ||
        too_large(sizes[s + 2], sizes[s + 1]) || too_large(sizes[s], sizes[s + 1])) {
      std::fprintf(stderr, "%s: bad threads or shape %s %s %s\nusage: %s\n", argv[0], argv[2 + s], argv[3 + s],
                   argv[4 + s], usage);
      return 2;
    }
  set_threads(threads);
  std::printf("GEMM paths, float, A stored by %s, %d thread%s on %s\n", a_columns ? "columns" : "rows", threads,
              threads == 1 ? "" : "s", cpu_name().c_str());
  print_run_conditions();
  std::printf("  gemm streams a B of up to %lld KB (half the L2 cache the C library reports, else 512 KB)\n",
              (long long)(detail::gemm_impl::l2_share_bytes() >> 10));
  std::printf("  GFLOP/s of each path; share: the rate of the path gemm picks over the faster one's\n");
  std::printf("  %6s %6s %6s %9s  %8s %9s   %-8s %5s\n", "M", "N", "K", "B (KB)", "packed", "streamed", "picks",
              "share");
  for (std::size_t s = 0; s < sizes.size(); s += 3) compare_paths(threads, a_columns, sizes[s], sizes[s + 1], sizes[s + 2]);
  return 0;
}
