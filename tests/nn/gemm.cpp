#include "farbound/nn/detail/gemm.hpp"
#include "farbound/nn/detail/gemm_nt_few_rows.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <utility>

#include "support/layer_checks.hpp"

using namespace farbound;
using detail::GemmOutput;
using testing::random_tensor;

namespace {
// C (+)= A B by the definition, in double.
void reference_gemm(std::int64_t M, std::int64_t N, std::int64_t K, const detail::StridedMatrix<float>& A,
                    const float* B, std::int64_t ldb, double* C, bool accumulate) {
  for (std::int64_t m = 0; m < M; ++m)
    for (std::int64_t n = 0; n < N; ++n) {
      double s = 0;
      for (std::int64_t k = 0; k < K; ++k) s += double(A.data[m * A.row_stride + k * A.col_stride]) * B[k * ldb + n];
      C[m * N + n] = (accumulate ? C[m * N + n] : 0.0) + s;
    }
}
}  // namespace

TEST_CASE("gemm matches the definition on every tile and tail shape", "[gemm]") {
  // Sizes around the register tile (6 rows, 4 x 16 columns on AVX-512) and the narrower tails.
  std::uint32_t salt = 0;
  for (std::int64_t M : {1, 2, 5, 6, 7, 13})
    for (std::int64_t N : {1, 3, 4, 8, 15, 16, 17, 25, 63, 64, 65, 100, 150})
      for (std::int64_t K : {0, 1, 2, 4, 7, 25}) {
        for (bool transposed : {false, true}) {
          for (bool accumulate : {false, true}) {
            const auto a = random_tensor<float>({std::max<std::int64_t>(1, M * K)}, ++salt);
            const auto b = random_tensor<float>({std::max<std::int64_t>(1, K * (N + 3))}, ++salt);
            auto c = random_tensor<float>({M, N + 2}, ++salt);  // ldc = N + 2: padding left untouched
            const detail::StridedMatrix<float> A =
                transposed ? detail::StridedMatrix<float>{a.data(), 1, M} : detail::StridedMatrix<float>{a.data(), K, 1};
            std::vector<double> expected(std::size_t(M * N));
            for (std::int64_t m = 0; m < M; ++m)
              for (std::int64_t n = 0; n < N; ++n) expected[std::size_t(m * N + n)] = c[m * (N + 2) + n];
            const float pad = c[N];
            reference_gemm(M, N, K, A, b.data(), N + 3, expected.data(), accumulate);
            detail::gemm<float>(M, N, K, A, detail::StridedRows<float>{b.data(), N + 3}, c.data(), N + 2,
                                accumulate ? GemmOutput::accumulate : GemmOutput::overwrite);
            INFO("M " << M << " N " << N << " K " << K << " transposed " << transposed << " accumulate " << accumulate);
            for (std::int64_t m = 0; m < M; ++m)
              for (std::int64_t n = 0; n < N; ++n)
                REQUIRE(c[m * (N + 2) + n] == Approx(expected[std::size_t(m * N + n)]).margin(1e-5));
            CHECK(c[N] == pad);
          }
        }
      }
}

TEST_CASE("gemm with a short K gives every element the bits of its fma chain", "[gemm]") {
  // K <= 4 walks C row by row (gemm.hpp, short_k_rows): each element must still be the chain
  // c <- fma(a(m, k), b(k, n), c) for k = 0 .. K-1 from 0 or the old C, as in a register tile.
  using Scalar = detail::gemm_impl::Lanes<float, float>;
  std::uint32_t salt = 900;
  for (std::int64_t K : {1, 2, 3, 4, 5})
    for (std::int64_t N : {7, 16, 64, 83, 400})
      for (bool accumulate : {false, true}) {
        const std::int64_t M = 9;
        const auto a = random_tensor<float>({K, M}, ++salt);  // read transposed, as g^T in Dense
        const auto b = random_tensor<float>({K, N}, ++salt);
        auto c = random_tensor<float>({M, N}, ++salt);
        std::vector<float> expected(std::size_t(M * N));
        for (std::int64_t m = 0; m < M; ++m)
          for (std::int64_t n = 0; n < N; ++n) {
            float s = accumulate ? c[m * N + n] : 0.0f;
            for (std::int64_t k = 0; k < K; ++k) s = Scalar::fma(a[k * M + m], b[k * N + n], s);
            expected[std::size_t(m * N + n)] = s;
          }
        detail::parallel_gemm<float>(M, N, K, {a.data(), 1, M}, detail::StridedRows<float>{b.data(), N}, c.data(), N,
                                     accumulate ? GemmOutput::accumulate : GemmOutput::overwrite);
        INFO("K " << K << " N " << N << " accumulate " << accumulate);
        REQUIRE(std::memcmp(c.data(), expected.data(), expected.size() * sizeof(float)) == 0);
      }
}

namespace {
// A template, so that the call is not compiled for targets without the kernel.
template <class T>
void require_few_rows_chains() {
  if constexpr (!detail::gemm_nt_few_rows_available<T>) {
    WARN("gemm_nt_few_rows needs AVX-512 or AVX2 + FMA: not built for this target");
  } else {
    // Rows 1 .. 8, columns and k on and off the 16 x 16 (AVX-512) and 8 x 8 (AVX2) blocks.
    using Scalar = detail::gemm_impl::Lanes<T, T>;
    std::uint32_t salt = 1000;
    for (std::int64_t M = 1; M <= detail::gemm_nt_few_rows_max; ++M)
      for (std::int64_t N : {1, 10, 16, 17, 120})
        for (std::int64_t K : {1, 15, 16, 17, 84})
          for (bool accumulate : {false, true}) {
            const std::int64_t lda = K + 1, ldb = K + 3, ldc = N + 2;
            const auto a = random_tensor<T>({M, lda}, ++salt);
            const auto b = random_tensor<T>({N, ldb}, ++salt);
            auto c = random_tensor<T>({M, ldc}, ++salt);
            std::vector<T> expected(c.data(), c.data() + c.numel());
            for (std::int64_t m = 0; m < M; ++m)
              for (std::int64_t n = 0; n < N; ++n) {
                T s = accumulate ? c[m * ldc + n] : T(0);
                for (std::int64_t k = 0; k < K; ++k) s = Scalar::fma(a[m * lda + k], b[n * ldb + k], s);
                expected[std::size_t(m * ldc + n)] = s;
              }
            detail::gemm_nt_few_rows<T>(M, N, K, a.data(), lda, b.data(), ldb, c.data(), ldc,
                                        accumulate ? GemmOutput::accumulate : GemmOutput::overwrite);
            INFO("M " << M << " N " << N << " K " << K << " accumulate " << accumulate);
            REQUIRE(std::memcmp(c.data(), expected.data(), expected.size() * sizeof(T)) == 0);  // padding too
          }
  }
}
}  // namespace

TEST_CASE("gemm_nt_few_rows gives every element the bits of its fma chain", "[gemm]") { require_few_rows_chains<float>(); }

TEST_CASE("gemm gives every element the same bits however C is split", "[gemm]") {
  const std::int64_t M = 37, N = 203, K = 150;
  const auto a = random_tensor<float>({M, K}, 1);
  const auto b = random_tensor<float>({K, N}, 2);
  Tensor<float> whole({M, N}), pieces({M, N});
  const detail::StridedRows<float> B{b.data(), N};
  detail::gemm<float>(M, N, K, {a.data(), K, 1}, B, whole.data(), N, GemmOutput::overwrite);
  // Uneven row and column pieces put elements into other tiles and tails.
  const std::int64_t row_cuts[] = {0, 5, 11, 37}, col_cuts[] = {0, 3, 70, 91, 203};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) {
      const std::int64_t m = row_cuts[i], n = col_cuts[j];
      detail::gemm<float>(row_cuts[i + 1] - m, col_cuts[j + 1] - n, K, {a.data() + m * K, K, 1}, B.from_col(n),
                          pieces.data() + m * N + n, N, GemmOutput::overwrite);
    }
  CHECK(testing::bitwise_equal(whole, pieces));
  for (int threads : {1, 2}) {
    set_threads(threads);
    Tensor<float> parallel({M, N});
    detail::parallel_gemm<float>(M, N, K, {a.data(), K, 1}, B, parallel.data(), N, GemmOutput::overwrite);
    CHECK(testing::bitwise_equal(whole, parallel));
  }
}

TEST_CASE("gemm_nt matches the definition on every tile and tail shape", "[gemm]") {
  std::uint32_t salt = 1000;
  for (std::int64_t M : {1, 3, 4, 6, 9})
    for (std::int64_t N : {1, 2, 4, 5, 25})
      for (std::int64_t K : {0, 1, 15, 16, 17, 100, 784})
        for (bool accumulate : {false, true}) {
          const std::int64_t lda = K + 1, ldb = K + 2, ldc = N + 1;
          const auto a = random_tensor<float>({M, lda}, ++salt);
          const auto b = random_tensor<float>({N, ldb}, ++salt);
          auto c = random_tensor<float>({M, ldc}, ++salt);
          const Tensor<float> c0 = c.clone();
          detail::gemm_nt<float>(M, N, K, detail::StridedRows<float>{a.data(), lda}, detail::StridedRows<float>{b.data(), ldb},
                                 c.data(), ldc, accumulate ? GemmOutput::accumulate : GemmOutput::overwrite);
          INFO("M " << M << " N " << N << " K " << K << " accumulate " << accumulate);
          for (std::int64_t m = 0; m < M; ++m) {
            for (std::int64_t n = 0; n < N; ++n) {
              double s = accumulate ? c0[m * ldc + n] : 0.0;
              for (std::int64_t k = 0; k < K; ++k) s += double(a[m * lda + k]) * b[n * ldb + k];
              REQUIRE(c[m * ldc + n] == Approx(s).margin(1e-4));
            }
            CHECK(c[m * ldc + N] == c0[m * ldc + N]);  // padding untouched
          }
        }
}

TEST_CASE("gemm_nt gives every element the same bits wherever it sits in a tile", "[gemm]") {
  const std::int64_t M = 11, N = 13, K = 100;
  const auto a = random_tensor<float>({M, K}, 1);
  const auto b = random_tensor<float>({N, K}, 2);
  Tensor<float> whole({M, N}), shifted({M, N});
  const detail::StridedRows<float> A{a.data(), K}, B{b.data(), K};
  detail::gemm_nt<float>(M, N, K, A, B, whole.data(), N, GemmOutput::overwrite);
  // Row 0 and column 0 alone, then the rest: every other element lands in another tile position.
  detail::gemm_nt<float>(1, N, K, A, B, shifted.data(), N, GemmOutput::overwrite);
  detail::gemm_nt<float>(M - 1, 1, K, A.from_row(1), B, shifted.data() + N, N, GemmOutput::overwrite);
  detail::gemm_nt<float>(M - 1, N - 1, K, A.from_row(1), B.from_row(1), shifted.data() + N + 1, N, GemmOutput::overwrite);
  CHECK(testing::bitwise_equal(whole, shifted));
}

TEST_CASE("OffsetRows reads rows in place wherever they start", "[gemm]") {
  // Rows of B are overlapping runs of one buffer, as a stride-1 convolution reads its input.
  const auto buffer = random_tensor<float>({200}, 7);
  const std::int64_t offsets[] = {0, 1, 2, 17, 40, 41};
  const std::int64_t K = 6, N = 70, M = 5;
  Tensor<float> copied({K, N});
  for (std::int64_t k = 0; k < K; ++k)
    for (std::int64_t n = 0; n < N; ++n) copied[k * N + n] = buffer[offsets[k] + n];
  const auto a = random_tensor<float>({M, K}, 8);
  Tensor<float> from_offsets({M, N}), from_copy({M, N});
  detail::gemm<float>(M, N, K, {a.data(), K, 1}, detail::OffsetRows<float>{buffer.data(), offsets}, from_offsets.data(), N,
                      GemmOutput::overwrite);
  detail::gemm<float>(M, N, K, {a.data(), K, 1}, detail::StridedRows<float>{copied.data(), N}, from_copy.data(), N,
                      GemmOutput::overwrite);
  CHECK(testing::bitwise_equal(from_offsets, from_copy));
  Tensor<float> nt_offsets({M, K}), nt_copy({M, K});
  const auto g = random_tensor<float>({M, N}, 9);
  detail::gemm_nt<float>(M, K, N, detail::StridedRows<float>{g.data(), N}, detail::OffsetRows<float>{buffer.data(), offsets},
                         nt_offsets.data(), K, GemmOutput::overwrite);
  detail::gemm_nt<float>(M, K, N, detail::StridedRows<float>{g.data(), N}, detail::StridedRows<float>{copied.data(), N},
                         nt_copy.data(), K, GemmOutput::overwrite);
  CHECK(testing::bitwise_equal(nt_offsets, nt_copy));
}

TEST_CASE("packed gemm matches the definition and the unpacked path bit for bit", "[gemm]") {
  // Row counts from the smallest packed product (4 tiles of 6 or 12 rows) to 150, ending in
  // partial slivers, K across a K block (256: the chain continues through C), columns around
  // the 16- or 32-wide sliver.
  std::uint32_t salt = 5000;
  constexpr std::int64_t min_rows = 4 * detail::gemm_impl::packed_rows;
  for (std::int64_t M : {min_rows, min_rows + 7, std::int64_t(150)})
    for (std::int64_t N : {16, 45, 97})
      for (std::int64_t K : {32, 300})
        for (bool transposed : {false, true}) {
          const bool accumulate = transposed;  // both modes, both layouts, without a 4th loop
          const auto a = random_tensor<float>({M * K}, ++salt);
          const auto b = random_tensor<float>({K, N + 3}, ++salt);
          auto packed = random_tensor<float>({M, N + 1}, ++salt);
          Tensor<float> streamed = packed.clone();
          const detail::StridedMatrix<float> A =
              transposed ? detail::StridedMatrix<float>{a.data(), 1, M} : detail::StridedMatrix<float>{a.data(), K, 1};
          const detail::StridedRows<float> B{b.data(), N + 3};
          std::vector<double> expected(std::size_t(M * N));
          for (std::int64_t m = 0; m < M; ++m)
            for (std::int64_t n = 0; n < N; ++n) expected[std::size_t(m * N + n)] = packed[m * (N + 1) + n];
          reference_gemm(M, N, K, A, b.data(), N + 3, expected.data(), accumulate);
          const GemmOutput output = accumulate ? GemmOutput::accumulate : GemmOutput::overwrite;
          REQUIRE(detail::gemm_impl::worth_packing(M, N, K));
          detail::packed_gemm<float>(0, M, 0, N, K, A, B, detail::StridedC<float>{packed.data(), N + 1}, accumulate);
          detail::gemm_impl::streamed_gemm<float>(M, N, K, A, B, streamed.data(), N + 1, output);
          INFO("M " << M << " N " << N << " K " << K << " transposed " << transposed);
          for (std::int64_t m = 0; m < M; ++m)
            for (std::int64_t n = 0; n < N; ++n)
              REQUIRE(packed[m * (N + 1) + n] == Approx(expected[std::size_t(m * N + n)]).margin(1e-4));
          CHECK(testing::bitwise_equal(packed, streamed));
        }
}

TEST_CASE("packed gemm across its row and column blocks matches the unpacked path bit for bit", "[gemm]") {
  // Past the packed path's row block (block_m) and column block (block_columns), each ending
  // in partial slivers and tiles; A stored by rows (overwriting C) and by columns (packed k
  // by k, accumulating).
  using detail::gemm_impl::block_m;
  const std::int64_t block_n = detail::gemm_impl::block_columns<float>();
  const std::int64_t M = block_m + 7, N = block_n + 17, K = 40;
  std::uint32_t salt = 7000;
  for (bool transposed : {false, true}) {
    const auto a = random_tensor<float>({M * K}, ++salt);
    const auto b = random_tensor<float>({K, N}, ++salt);
    const auto c0 = random_tensor<float>({M, N}, ++salt);
    Tensor<float> packed = c0.clone(), streamed = c0.clone();
    const detail::StridedMatrix<float> A =
        transposed ? detail::StridedMatrix<float>{a.data(), 1, M} : detail::StridedMatrix<float>{a.data(), K, 1};
    const detail::StridedRows<float> B{b.data(), N};
    const bool accumulate = transposed;
    detail::packed_gemm<float>(0, M, 0, N, K, A, B, detail::StridedC<float>{packed.data(), N}, accumulate);
    detail::gemm_impl::streamed_gemm<float>(M, N, K, A, B, streamed.data(), N,
                                            accumulate ? GemmOutput::accumulate : GemmOutput::overwrite);
    INFO("transposed " << transposed);
    CHECK(testing::bitwise_equal(packed, streamed));
    for (const auto& [m, n] : {std::pair<std::int64_t, std::int64_t>{0, 0}, {block_m, block_n}, {M - 1, N - 1}}) {
      double expected = accumulate ? double(c0[m * N + n]) : 0.0;
      for (std::int64_t k = 0; k < K; ++k) expected += double(A.data[m * A.row_stride + k * A.col_stride]) * b[k * N + n];
      CHECK(packed[m * N + n] == Approx(expected).margin(1e-4));
    }
  }
}

TEST_CASE("packed gemm and gemm_nt give the same bits on 1 and 2 threads", "[gemm]") {
  const std::int64_t M = 150, N = 330, K = 270;  // every kind of edge, two K blocks
  const auto a = random_tensor<float>({M, K}, 11);
  const auto b = random_tensor<float>({K, N}, 12);
  const auto bt = random_tensor<float>({N, K}, 13);
  Tensor<float> serial({M, N}), serial_nt({M, N});
  detail::packed_gemm<float>(0, M, 0, N, K, detail::StridedMatrix<float>{a.data(), K, 1},
                             detail::StridedRows<float>{b.data(), N}, detail::StridedC<float>{serial.data(), N}, false);
  detail::gemm_nt<float>(M, N, K, detail::StridedRows<float>{a.data(), K}, detail::StridedRows<float>{bt.data(), K},
                         serial_nt.data(), N, GemmOutput::overwrite);
  for (int threads : {1, 2}) {
    set_threads(threads);
    Tensor<float> parallel({M, N}), parallel_nt({M, N});
    detail::parallel_gemm<float>(M, N, K, {a.data(), K, 1}, detail::StridedRows<float>{b.data(), N}, parallel.data(), N,
                                 GemmOutput::overwrite);
    detail::parallel_packed_gemm<float>(M, N, K, detail::StridedRows<float>{a.data(), K},
                                        detail::Transposed<detail::StridedRows<float>>{{bt.data(), K}},
                                        detail::StridedC<float>{parallel_nt.data(), N}, false);
    CHECK(testing::bitwise_equal(serial, parallel));
    CHECK(testing::bitwise_equal(serial_nt, parallel_nt));
  }
  // gemm_nt's packed path is A B^T by the definition.
  for (std::int64_t m = 0; m < M; m += 37)
    for (std::int64_t n = 0; n < N; n += 41) {
      double s = 0;
      for (std::int64_t k = 0; k < K; ++k) s += double(a[m * K + k]) * bt[n * K + k];
      CHECK(serial_nt[m * N + n] == Approx(s).margin(1e-4));
    }
}
