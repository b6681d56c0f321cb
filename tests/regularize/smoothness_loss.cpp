#include "farbound/regularize/smoothness_loss.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <utility>
#include <vector>

#include "farbound/core/parallel.hpp"
#include "farbound/core/random.hpp"

#include <xsimd/xsimd.hpp>

using namespace farbound;

namespace {

// One batch: anchors [B, C], neighbours [B*K, C], r [B*K], labels [B].
template <class T>
struct Problem {
  std::int64_t B, K, C;
  Tensor<T> anchors, neighbours, r;
  std::vector<std::int32_t> labels;
};

struct ProblemSpec {
  std::int64_t B = 3, K = 2, C = 10;
  double logit_scale = 3;   // logits uniform in [-scale, scale]
  double r_min = 0.01, r_max = 1;  // r log-uniform in [r_min, r_max]
  std::uint32_t salt = 0;
};

// Reproducible random problem; every third anchor is unlabelled.
template <class T>
Problem<T> make_problem(const ProblemSpec& s) {
  Problem<T> p{s.B, s.K, s.C, Tensor<T>({s.B, s.C}), Tensor<T>({s.B * s.K, s.C}), Tensor<T>({s.B * s.K}), {}};
  std::vector<double> u(std::size_t(s.B * (s.K + 1) * s.C + s.B * s.K + s.B));
  RandomStream(2024, Purpose::user, s.salt, std::uint32_t(s.B * 100 + s.K * 10 + s.C)).uniform(std::span<double>(u));
  std::size_t n = 0;
  for (auto& z : p.anchors.span()) z = T(s.logit_scale * (2 * u[n++] - 1));
  for (auto& z : p.neighbours.span()) z = T(s.logit_scale * (2 * u[n++] - 1));
  for (auto& r : p.r.span()) r = T(s.r_min * std::pow(s.r_max / s.r_min, u[n++]));
  for (std::int64_t i = 0; i < s.B; ++i) {
    const auto y = std::int32_t(u[n++] * double(s.C));
    p.labels.push_back(i % 3 == 2 ? -1 : y);
  }
  return p;
}

template <class T>
struct Result {
  SmoothnessLossValue<T> value;
  Tensor<T> anchor_grad, neighbour_grad;
};

template <class Blocks, class T>
Result<T> run(const Problem<T>& p, T lambda, std::size_t streamed_from = detail::streamed_gradient_bytes()) {
  Result<T> out{{}, Tensor<T>(p.anchors.shape()), Tensor<T>(p.neighbours.shape())};
  out.value = detail::smoothness_loss_with<Blocks, T>(p.anchors.view(), p.neighbours.view(), p.r.view(), p.labels, lambda,
                                                      out.anchor_grad.view(), out.neighbour_grad.view(), streamed_from);
  return out;
}

// The loss written out directly from its definition, in long double.
template <class T>
long double direct_loss(const Problem<T>& p, double lambda) {
  const auto softmax = [&](const T* z) {
    std::vector<long double> e(std::size_t(p.C));
    const long double m = *std::max_element(z, z + p.C);
    long double s = 0;
    for (std::int64_t c = 0; c < p.C; ++c) s += e[std::size_t(c)] = std::exp((long double)z[c] - m);
    for (auto& v : e) v /= s;
    return e;
  };
  long double total = 0;
  for (std::int64_t i = 0; i < p.B; ++i) {
    const auto pi = softmax(p.anchors.data() + i * p.C);
    if (p.labels[std::size_t(i)] >= 0) total += -std::log(pi[std::size_t(p.labels[std::size_t(i)])]);
    long double gr = 0;
    for (std::int64_t k = 0; k < p.K; ++k) {
      const auto q = softmax(p.neighbours.data() + (i * p.K + k) * p.C);
      for (std::int64_t c = 0; c < p.C; ++c) {
        const long double d = pi[std::size_t(c)] - q[std::size_t(c)];
        gr += d * d / (long double)p.r[i * p.K + k];
      }
    }
    if (p.K > 0) total += lambda * gr / (long double)(p.K * p.C);
  }
  return total / (long double)p.B;
}

// max_i |a_i - b_i| / max_i |b_i|: the relative error of a gradient as a whole. (Entries
// far below the largest one are ill-conditioned where the softmax saturates: their own
// relative error says nothing about the implementation.)
template <class T>
double normwise_error(TensorView<const T> a, TensorView<const T> b) {
  double scale = 0, diff = 0;
  for (std::int64_t i = 0; i < b.numel(); ++i) {
    scale = std::max(scale, std::abs(double(b[i])));
    diff = std::max(diff, std::abs(double(a[i]) - double(b[i])));
  }
  return scale > 0 ? diff / scale : diff;
}

double relative(double a, double b) { return std::abs(a - b) / std::max({std::abs(a), std::abs(b), 1e-300}); }

// Central differences of the total loss with respect to every logit, in double.
Tensor<double> numeric_gradient(Problem<double>& p, Tensor<double>& logits, double lambda, double h) {
  Tensor<double> g(logits.shape());
  for (std::int64_t j = 0; j < logits.numel(); ++j) {
    const double saved = logits[j];
    logits[j] = saved + h;
    const double up = run<detail::ScalarBlocks>(p, lambda).value.total;
    logits[j] = saved - h;
    const double down = run<detail::ScalarBlocks>(p, lambda).value.total;
    logits[j] = saved;
    g[j] = (up - down) / (2 * h);
  }
  return g;
}

void check_against_finite_differences(const ProblemSpec& spec, double lambda, double tolerance) {
  auto p = make_problem<double>(spec);
  const auto analytic = run<detail::SimdBlocks>(p, lambda);
  const double h = 1e-5 * std::max(1.0, spec.logit_scale);
  const auto da = numeric_gradient(p, p.anchors, lambda, h);
  const auto dn = numeric_gradient(p, p.neighbours, lambda, h);
  INFO("B " << spec.B << " K " << spec.K << " C " << spec.C << " scale " << spec.logit_scale << " r_min " << spec.r_min);
  CHECK(normwise_error<double>(analytic.anchor_grad.view(), da.view()) < tolerance);
  CHECK(normwise_error<double>(analytic.neighbour_grad.view(), dn.view()) < tolerance);
  CHECK(relative(analytic.value.total, double(direct_loss(p, lambda))) < 1e-13);
}

}  // namespace

TEST_CASE("Smoothness loss gradients match central finite differences", "[smoothness]") {
  for (std::int64_t B : {1, 3, 17})
    for (std::int64_t K : {1, 2, 8})
      for (std::int64_t C : {2, 10}) check_against_finite_differences({B, K, C, 3.0, 0.01, 1.0, 1}, 2.5, 1e-7);
}

TEST_CASE("Smoothness loss gradients match finite differences for tiny r and a large lambda", "[smoothness]") {
  for (std::int64_t K : {1, 8}) check_against_finite_differences({3, K, 10, 2.0, 1e-9, 1e-6, 2}, 1e4, 1e-7);
}

TEST_CASE("Smoothness loss gradients match finite differences for a nearly saturated softmax", "[smoothness]") {
  for (std::int64_t K : {1, 2}) check_against_finite_differences({3, K, 10, 20.0, 0.01, 1.0, 3}, 10.0, 1e-7);
}

TEST_CASE("Smoothness loss at B = 1 equals the reference's CE + lambda * GRLoss", "[smoothness]") {
  // The reference: GRLoss = mse_loss(repeat(p) / ||x - x_k||, q / ||x - x_k||), the mean
  // over K*C elements, and CE = cross_entropy(z, y); loss = CE + lambda * GRLoss.
  for (std::int64_t K : {1, 2, 8})
    for (std::int64_t C : {2, 10}) {
      auto p = make_problem<double>({1, K, C, 4.0, 1e-4, 1.0, 4});
      p.labels[0] = std::int32_t(C - 1);
      const double lambda = 1e4;
      std::vector<double> prob(static_cast<std::size_t>(C)), q(static_cast<std::size_t>(C));
      const auto softmax = [&](const double* z, std::vector<double>& out) {
        double s = 0;
        for (std::int64_t c = 0; c < C; ++c) s += out[std::size_t(c)] = std::exp(z[c]);
        for (auto& v : out) v /= s;
      };
      softmax(p.anchors.data(), prob);
      double mse = 0;
      for (std::int64_t k = 0; k < K; ++k) {
        softmax(p.neighbours.data() + k * C, q);
        const double denom = std::sqrt(p.r[k]);
        for (std::int64_t c = 0; c < C; ++c) {
          const double d = prob[std::size_t(c)] / denom - q[std::size_t(c)] / denom;
          mse += d * d;
        }
      }
      mse /= double(K * C);
      const double ce = -std::log(prob[std::size_t(C - 1)]);
      const auto got = run<detail::SimdBlocks>(p, lambda);
      CHECK(relative(got.value.cross_entropy, ce) < 1e-13);
      CHECK(relative(got.value.smoothness, mse) < 1e-13);
      CHECK(relative(got.value.total, ce + lambda * mse) < 1e-13);
    }
}

// The softmax rows' maximum and the place of their first largest logit, where the zero-sum
// entry is rebuilt: SimdBlocks finds it lane by lane, rows that are not whole blocks ending
// with their last block again.
TEMPLATE_TEST_CASE("max_at finds a row's first largest value", "[smoothness]", float, double) {
  using T = TestType;
  std::vector<double> u(1000);
  RandomStream(2024, Purpose::user, 21, 0).uniform(std::span<double>(u));
  for (std::size_t n : {1, 2, 7, 8, 9, 15, 16, 17, 23, 31, 33, 100, 1000})
    for (std::size_t first = 0; first < n; first += std::max<std::size_t>(1, n / 37)) {
      // Values in [0, 4) in steps of 1/4, so that many tie; the largest, 5, at `first` and,
      // after it, again in the last element and three places before it.
      std::vector<T> row(n);
      for (std::size_t c = 0; c < n; ++c) row[c] = T(std::floor(u[c] * 16) / 4);
      row[first] = T(5);
      row[n - 1] = T(5);
      if (n >= 4) row[std::max(first, n - 4)] = T(5);
      const auto value = [&]<class L>(L, std::size_t c) { return L::load(row.data() + c); };
      INFO("n " << n << " first " << first);
      const auto simd = detail::SimdBlocks::max_at<T>(n, value), scalar = detail::ScalarBlocks::max_at<T>(n, value);
      CHECK(simd.value == T(5));
      CHECK(simd.at == first);
      CHECK(scalar.value == T(5));
      CHECK(scalar.at == first);
    }
}

namespace {

// f(spec) for ordinary logits, a saturated softmax, logits of +-1e3 and tiny r, each at B in
// {1, 3, 17}, K in {1, 2, 8} and every C in `classes`.
template <class F>
void for_each_hard_problem(std::initializer_list<std::int64_t> classes, F&& f) {
  struct Spread {
    double scale, r_min, r_max;
  };
  const Spread spreads[] = {{3.0, 0.01, 1.0}, {40.0, 0.01, 1.0}, {1e3, 0.01, 1.0}, {3.0, 1e-7, 1e-5}};
  for (const auto& s : spreads)
    for (std::int64_t B : {1, 3, 17})
      for (std::int64_t K : {1, 2, 8})
        for (std::int64_t C : classes) {
          INFO("B " << B << " K " << K << " C " << C << " scale " << s.scale << " r_min " << s.r_min);
          f(ProblemSpec{B, K, C, s.scale, s.r_min, s.r_max, 5});
        }
}

// A float tensor's values in double.
Tensor<double> widened(const Tensor<float>& t) {
  Tensor<double> out(t.shape());
  std::copy(t.span().begin(), t.span().end(), out.span().begin());
  return out;
}

}  // namespace

TEST_CASE("Scalar and SIMD kernels agree in float and double", "[smoothness]") {
  for_each_hard_problem({2, 10, 37}, [](const ProblemSpec& spec) {  // 37 fills every lane width with a tail
    const auto agree = [&]<class T>(double tolerance) {
      const auto p = make_problem<T>(spec);
      const auto s = run<detail::ScalarBlocks>(p, T(7)), v = run<detail::SimdBlocks>(p, T(7));
      CHECK(normwise_error<T>(v.anchor_grad.view(), s.anchor_grad.view()) < tolerance);
      CHECK(normwise_error<T>(v.neighbour_grad.view(), s.neighbour_grad.view()) < tolerance);
      CHECK(relative(v.value.total, s.value.total) < tolerance);
      CHECK(relative(v.value.smoothness, s.value.smoothness) < tolerance);
    };
    agree.template operator()<float>(1e-5);
    agree.template operator()<double>(1e-12);
  });
}

// The CPU caller keeps exp(z_k - max) for the neighbours whose rows fit its 32 KB store and
// evaluates the others again, the only way the GPU runs; both must give the gradient.
TEST_CASE("Neighbours past the softmax store and past the kept rows get the same gradients", "[smoothness]") {
  // At C = 1000, 8 of 12 neighbours fit in float and 4 in double. K = 20 at C = 37 passes
  // the 16 neighbours whose (max, 1/sum) the kernel keeps.
  for (const auto& [K, C] : {std::pair<std::int64_t, std::int64_t>{12, 1000}, {20, 37}}) {
    INFO("K " << K << " C " << C);
    const ProblemSpec spec{3, K, C, 3.0, 0.01, 1.0, 11};
    const auto pd = make_problem<double>(spec);
    const auto sd = run<detail::ScalarBlocks>(pd, 7.0), vd = run<detail::SimdBlocks>(pd, 7.0);
    CHECK(normwise_error<double>(vd.neighbour_grad.view(), sd.neighbour_grad.view()) < 1e-12);
    CHECK(normwise_error<double>(vd.anchor_grad.view(), sd.anchor_grad.view()) < 1e-12);
    CHECK(relative(vd.value.total, double(direct_loss(pd, 7.0))) < 1e-12);
    // Float against double: the scalar reference sums a row of 1000 in one float chain
    // (errors near 1e-4 of the largest entry), the SIMD kernel on 16 (near 1e-5).
    const auto vf = run<detail::SimdBlocks>(make_problem<float>(spec), 7.0f);
    CHECK(normwise_error<double>(widened(vf.neighbour_grad).view(), vd.neighbour_grad.view()) < 5e-5);
    // The kernel on one anchor without any store, as the GPU calls it, against the batch call.
    Tensor<double> dz({C}), dzn({K, C});
    const auto [w_ce, w_gr] = detail::smoothness_weights<double>(3, K, C, 7.0);
    detail::smoothness_anchor<detail::SimdBlocks>(pd.anchors.data(), pd.neighbours.data(), pd.r.data(), std::size_t(K),
                                                  std::size_t(C), pd.labels[0], w_ce, w_gr, dz.data(), dzn.data());
    CHECK(normwise_error<double>(dzn.view(), vd.neighbour_grad.slice(0, K)) < 1e-14);
    CHECK(normwise_error<double>(dz.view(), vd.anchor_grad.slice(0, 1).reshaped({C})) < 1e-14);
  }
}

// With up to 64 classes the CPU runs W anchors side by side on the SIMD lanes
// (detail/smoothness_lanes.hpp: up to 16 classes in registers, past that in memory) and the
// last B mod W anchors row by row.
TEMPLATE_TEST_CASE("Anchors on lanes agree with the reference and with the row kernel", "[smoothness]", float, double) {
  using T = TestType;
  const double tolerance = sizeof(T) == 4 ? 1e-5 : 1e-12;
  const std::int64_t W = xsimd::batch<T>::size, B = 2 * W + 3;
  // 65: past the lanes' limit; 12 and 100: rows that end in a block of 4 (one SSE register on
  // AVX); 65 to 128: rows in registers on AVX-512 (floats)
  for (std::int64_t C : {1, 2, 5, 8, 9, 10, 12, 16, 17, 33, 64, 65, 100, 128})
    for (std::int64_t K : {0, 1, 3, 7})  // 7: the lanes kernel's neighbours by 4, 2 and 1
      for (double scale : {3.0, 40.0}) {
        INFO("B " << B << " K " << K << " C " << C << " scale " << scale);
        const auto p = make_problem<T>({B, K, C, scale, 0.01, 1.0, 13});
        const auto s = run<detail::ScalarBlocks>(p, T(7)), v = run<detail::SimdBlocks>(p, T(7));
        CHECK(normwise_error<T>(v.anchor_grad.view(), s.anchor_grad.view()) < tolerance);
        CHECK(normwise_error<T>(v.neighbour_grad.view(), s.neighbour_grad.view()) < tolerance);
        CHECK(relative(v.value.total, s.value.total) < tolerance);
        CHECK(relative(v.value.cross_entropy, s.value.cross_entropy) < tolerance);
        CHECK(relative(v.value.total, double(direct_loss(p, 7.0))) < tolerance);
        if (K == 0) CHECK(v.value.smoothness == T(0));
        // Anchor by anchor through the row kernel, as for the last B mod W anchors.
        const auto [w_ce, w_gr] = detail::smoothness_weights<T>(B, K, C, T(7));
        Tensor<T> dz({B, C}), dzn({std::max<std::int64_t>(1, B * K), C});
        for (std::int64_t i = 0; i < B; ++i) {
          const std::int32_t y = p.labels[std::size_t(i)];
          detail::smoothness_anchor<detail::SimdBlocks>(p.anchors.data() + i * C, p.neighbours.data() + i * K * C,
                                                        p.r.data() + i * K, std::size_t(K), std::size_t(C), y,
                                                        y >= 0 ? w_ce : T(0), w_gr, dz.data() + i * C, dzn.data() + i * K * C);
        }
        CHECK(normwise_error<T>(v.anchor_grad.view(), dz.view()) < tolerance);
        if (K > 0) CHECK(normwise_error<T>(v.neighbour_grad.view(), dzn.view()) < tolerance);
      }
}

// From 65 to 128 classes the CPU runs float rows in registers on AVX-512
// (detail/smoothness_rows_avx512.hpp), the row kernel elsewhere. Both are held to the double
// result on the same inputs: with r of 1e-7 (v and t of 1e7, which their difference cancels)
// they come within 5.3e-6 of it at C = 128, where the float reference, summing each row in one
// chain, is up to 1.2e-5 off (at C = 100).
TEST_CASE("Rows of 65 to 128 classes in float are a few roundings from the double result", "[smoothness]") {
  for_each_hard_problem({65, 100, 128}, [](const ProblemSpec& spec) {
    const auto p = make_problem<float>(spec);
    const Problem<double> d{spec.B, spec.K, spec.C, widened(p.anchors), widened(p.neighbours), widened(p.r), p.labels};
    const auto v = run<detail::SimdBlocks>(p, 7.0f);
    const auto exact = run<detail::ScalarBlocks>(d, 7.0);
    CHECK(normwise_error<double>(widened(v.anchor_grad).view(), exact.anchor_grad.view()) < 1e-5);
    CHECK(normwise_error<double>(widened(v.neighbour_grad).view(), exact.neighbour_grad.view()) < 1e-5);
    CHECK(relative(v.value.total, exact.value.total) < 1e-5);
    CHECK(relative(v.value.smoothness, exact.value.smoothness) < 1e-5);
  });
}

TEST_CASE("A NaN logit in a block of lane anchors gives a clear error", "[smoothness][errors]") {
  const std::int64_t W = xsimd::batch<float>::size;
  for (std::int64_t C : {10, 33, 100}) {  // the lanes kernel in registers, and in memory; rows in registers
    INFO("C " << C);
    auto p = make_problem<float>({2 * W, 2, C, 3.0, 0.01, 1.0, 14});
    Tensor<float> ga, gn;
    p.anchors[(W - 1) * C + 4] = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_AS(smoothness_loss(p.anchors, p.neighbours, p.r, p.labels, 1.0f, ga, gn), numeric_error);
    p.anchors[(W - 1) * C + 4] = 0;
    p.neighbours[(2 * W + 1) * C + 9] = std::numeric_limits<float>::quiet_NaN();  // anchor W's second neighbour
    p.labels.assign(std::size_t(2 * W), -1);  // no cross-entropy: the smoothness term alone must catch it
    CHECK_THROWS_AS(smoothness_loss(p.anchors, p.neighbours, p.r, p.labels, 1.0f, ga, gn), numeric_error);
  }
}

TEST_CASE("Logits of +-1e3 give a finite loss and gradient", "[smoothness]") {
  auto p = make_problem<float>({17, 8, 10, 1e3, 0.01, 1.0, 6});
  const auto got = run<detail::SimdBlocks>(p, 1e4f);
  CHECK(std::isfinite(got.value.total));
  CHECK(got.value.cross_entropy > 0);
  for (float g : got.anchor_grad.span()) REQUIRE(std::isfinite(g));
  for (float g : got.neighbour_grad.span()) REQUIRE(std::isfinite(g));
  auto d = make_problem<double>({17, 8, 10, 1e3, 0.01, 1.0, 6});
  CHECK(relative(got.value.total, double(direct_loss(d, 1e4))) < 1e-5);
}

TEST_CASE("Unlabelled anchors contribute no cross-entropy", "[smoothness]") {
  auto p = make_problem<double>({5, 2, 10, 3.0, 0.01, 1.0, 7});
  std::vector<std::int32_t> labelled = {3, 0, 9, 1, 4};
  p.labels.assign(5, -1);
  const auto unl = run<detail::SimdBlocks>(p, 3.0);
  CHECK(unl.value.cross_entropy == 0.0);
  CHECK(relative(unl.value.total, 3.0 * unl.value.smoothness) < 1e-15);
  p.labels = labelled;
  const auto lab = run<detail::SimdBlocks>(p, 3.0);
  CHECK(lab.value.smoothness == unl.value.smoothness);
  // The labels change only the anchors' gradient, by (1/B) * (softmax(z) - e_y).
  for (std::int64_t j = 0; j < p.neighbours.numel(); ++j) REQUIRE(lab.neighbour_grad[j] == unl.neighbour_grad[j]);
  for (std::int64_t i = 0; i < 5; ++i) {
    const double* z = p.anchors.data() + i * 10;
    double s = 0;
    for (int c = 0; c < 10; ++c) s += std::exp(z[c]);
    for (int c = 0; c < 10; ++c) {
      const double ce_grad = (std::exp(z[c]) / s - (c == labelled[std::size_t(i)] ? 1.0 : 0.0)) / 5;
      CHECK(lab.anchor_grad[i * 10 + c] - unl.anchor_grad[i * 10 + c] == Approx(ce_grad).margin(1e-14));
    }
  }
  // lambda = 0 and no labels: nothing to learn.
  p.labels.assign(5, -1);
  const auto none = run<detail::SimdBlocks>(p, 0.0);
  CHECK(none.value.total == 0.0);
  for (double g : none.anchor_grad.span()) REQUIRE(g == 0.0);
  for (double g : none.neighbour_grad.span()) REQUIRE(g == 0.0);
}

TEST_CASE("K = 0 leaves plain cross-entropy", "[smoothness]") {
  auto p = make_problem<double>({4, 0, 10, 3.0, 0.01, 1.0, 8});
  p.labels = {1, 2, 3, 4};
  const auto got = run<detail::SimdBlocks>(p, 5.0);
  CHECK(got.value.smoothness == 0.0);
  CHECK(relative(got.value.total, double(direct_loss(p, 5.0))) < 1e-14);
}

TEST_CASE("Results do not depend on the thread count", "[smoothness]") {
  const int saved = max_threads();
  for (std::int64_t B : {17, 3000}) {  // one chunk of anchors; several
    const auto p = make_problem<float>({B, 2, 10, 3.0, 0.01, 1.0, 9});
    set_threads(1);
    const auto one = run<detail::SimdBlocks>(p, 100.0f);
    set_threads(2);
    const auto two = run<detail::SimdBlocks>(p, 100.0f);
    CHECK(one.value.total == two.value.total);
    CHECK(one.value.cross_entropy == two.value.cross_entropy);
    CHECK(one.value.smoothness == two.value.smoothness);
    CHECK(std::equal(one.anchor_grad.span().begin(), one.anchor_grad.span().end(), two.anchor_grad.span().begin()));
    CHECK(std::equal(one.neighbour_grad.span().begin(), one.neighbour_grad.span().end(), two.neighbour_grad.span().begin()));
    // At B = 3000: six chunks of whole lane groups, every anchor on the lanes but the last B mod W.
    const auto reference = run<detail::ScalarBlocks>(p, 100.0f);
    CHECK(normwise_error<float>(two.anchor_grad.view(), reference.anchor_grad.view()) < 1e-5);
    CHECK(normwise_error<float>(two.neighbour_grad.view(), reference.neighbour_grad.view()) < 1e-5);
    CHECK(relative(two.value.total, reference.value.total) < 1e-5);
  }
  set_threads(saved);
}

TEST_CASE("Neighbour gradients past the caches are streamed out with the values written in place", "[smoothness]") {
  const int saved = max_threads();
  // The lanes kernel in registers; the wide one; blocks of odd K C, whole cache lines on
  // AVX-512 only (elsewhere written in place). Streamed from 1 MB here rather than from the
  // machine's size (a sixteenth of its L3 cache: 30 MB on some), which would make a slow test.
  constexpr std::size_t streamed_from = std::size_t(1) << 20;
  for (const auto& [K, C] : {std::pair<std::int64_t, std::int64_t>{4, 10}, {4, 20}, {3, 7}}) {
    const std::int64_t rows_per_anchor = K * C * std::int64_t(sizeof(float));
    const std::int64_t B = std::int64_t(streamed_from) / rows_per_anchor + 21;  // past the size, B mod W > 0
    INFO("B " << B << " K " << K << " C " << C);
    const auto p = make_problem<float>({B, K, C, 3.0, 0.01, 1.0, 17});
    set_threads(2);
    const auto streamed = run<detail::SimdBlocks>(p, 6.0f, streamed_from);  // a Tensor's rows start on a cache line: streamed
    // The same rows one float past a cache line's start: written in place.
    Tensor<float> anchor_grad({B, C}), shifted({B * K * C + 1});
    const TensorView<float> in_place(shifted.data() + 1, Shape{B * K, C});
    const auto value = detail::smoothness_loss_with<detail::SimdBlocks, float>(
        p.anchors.view(), p.neighbours.view(), p.r.view(), p.labels, 6.0f, anchor_grad.view(), in_place, streamed_from);
    CHECK(value.total == streamed.value.total);
    CHECK(std::equal(streamed.anchor_grad.span().begin(), streamed.anchor_grad.span().end(), anchor_grad.data()));
    CHECK(std::equal(streamed.neighbour_grad.span().begin(), streamed.neighbour_grad.span().end(), in_place.data()));
    set_threads(1);
    const auto one = run<detail::SimdBlocks>(p, 6.0f, streamed_from);
    CHECK(std::equal(streamed.neighbour_grad.span().begin(), streamed.neighbour_grad.span().end(), one.neighbour_grad.data()));
    const auto reference = run<detail::ScalarBlocks>(p, 6.0f);
    CHECK(normwise_error<float>(streamed.neighbour_grad.view(), reference.neighbour_grad.view()) < 1e-5);
  }
  set_threads(saved);
}

TEST_CASE("Anchors and neighbours may be slices of one logits tensor", "[smoothness]") {
  const std::int64_t B = 3, K = 2, C = 10;
  const auto p = make_problem<float>({B, K, C, 3.0, 0.01, 1.0, 10});
  Tensor<float> logits({B + B * K, C}), grad({B + B * K, C});
  std::copy_n(p.anchors.data(), B * C, logits.data());
  std::copy_n(p.neighbours.data(), B * K * C, logits.data() + B * C);
  const auto value = smoothness_loss(logits.view().slice(0, B), logits.view().slice(B, B * K), p.r, p.labels, 4.0f,
                                     grad.slice(0, B), grad.slice(B, B * K));
  const auto separate = run<detail::SimdBlocks>(p, 4.0f);
  CHECK(value.total == separate.value.total);
  CHECK(std::equal(separate.anchor_grad.span().begin(), separate.anchor_grad.span().end(), grad.data()));
  CHECK(std::equal(separate.neighbour_grad.span().begin(), separate.neighbour_grad.span().end(), grad.data() + B * C));
}

TEST_CASE("The tensor overload resizes the gradients once and then reuses them", "[smoothness]") {
  const auto p = make_problem<double>({3, 2, 10, 3.0, 0.01, 1.0, 11});
  Tensor<double> ga, gn;
  const auto first = smoothness_loss(p.anchors, p.neighbours, p.r, p.labels, 2.0, ga, gn);
  CHECK(ga.shape() == p.anchors.shape());
  CHECK(gn.shape() == p.neighbours.shape());
  const double* a = ga.data();
  const double* n = gn.data();
  const auto second = smoothness_loss(p.anchors, p.neighbours, p.r, p.labels, 2.0, ga, gn);
  CHECK(ga.data() == a);
  CHECK(gn.data() == n);
  CHECK(first.total == second.total);
  const auto reference = run<detail::SimdBlocks>(p, 2.0);
  CHECK(std::equal(ga.span().begin(), ga.span().end(), reference.anchor_grad.span().begin()));
}

TEST_CASE("Bad inputs give clear errors", "[smoothness][errors]") {
  auto p = make_problem<double>({3, 2, 10, 3.0, 0.01, 1.0, 12});
  Tensor<double> ga({3, 10}), gn({6, 10});
  auto call = [&](TensorView<const double> a, TensorView<const double> n, TensorView<const double> r,
                  std::span<const std::int32_t> labels, double lambda) {
    Tensor<double> ga2, gn2;
    return smoothness_loss(a, n, r, labels, lambda, ga2, gn2);
  };
  SECTION("shapes") {
    Tensor<double> n7({7, 10}), n9({6, 9}), r5({5}), a3d({3, 10, 1});
    CHECK_THROWS_WITH(call(p.anchors, n7, p.r, p.labels, 1.0), Catch::Contains("[3, 10]") && Catch::Contains("[7, 10]"));
    CHECK_THROWS_AS(call(p.anchors, n7, p.r, p.labels, 1.0), shape_error);
    CHECK_THROWS_WITH(call(p.anchors, n9, p.r, p.labels, 1.0), Catch::Contains("[3, 10]") && Catch::Contains("[6, 9]"));
    CHECK_THROWS_WITH(call(p.anchors, p.neighbours, r5, p.labels, 1.0), Catch::Contains("[5]") && Catch::Contains("[6, 10]"));
    CHECK_THROWS_AS(call(a3d, p.neighbours, p.r, p.labels, 1.0), shape_error);
    std::vector<std::int32_t> two = {0, 1};
    CHECK_THROWS_WITH(call(p.anchors, p.neighbours, p.r, two, 1.0), Catch::Contains("[2]") && Catch::Contains("[3, 10]"));
    CHECK_THROWS_AS(call(p.anchors.view().slice(0, 0), p.neighbours, p.r, p.labels, 1.0), shape_error);
    Tensor<double> wrong({3, 9});
    CHECK_THROWS_WITH(smoothness_loss(p.anchors, p.neighbours, p.r, p.labels, 1.0, wrong.view(), gn.view()),
                      Catch::Contains("[3, 9]") && Catch::Contains("[3, 10]"));
  }
  SECTION("arguments") {
    p.r[4] = 0.0;
    CHECK_THROWS_AS(call(p.anchors, p.neighbours, p.r, p.labels, 1.0), argument_error);
    p.r[4] = -1e-3;
    CHECK_THROWS_WITH(call(p.anchors, p.neighbours, p.r, p.labels, 1.0), Catch::Contains("r[4]"));
    p.r[4] = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_AS(call(p.anchors, p.neighbours, p.r, p.labels, 1.0), numeric_error);
    p.r[4] = std::numeric_limits<double>::infinity();
    CHECK_THROWS_AS(call(p.anchors, p.neighbours, p.r, p.labels, 1.0), numeric_error);
    p.r[4] = 0.5;
    CHECK_THROWS_AS(call(p.anchors, p.neighbours, p.r, p.labels, -1.0), argument_error);
    CHECK_THROWS_AS(call(p.anchors, p.neighbours, p.r, p.labels, std::numeric_limits<double>::infinity()), argument_error);
    std::vector<std::int32_t> bad = {0, 10, 1};
    CHECK_THROWS_WITH(call(p.anchors, p.neighbours, p.r, bad, 1.0), Catch::Contains("label 10"));
    bad = {0, -2, 1};
    CHECK_THROWS_AS(call(p.anchors, p.neighbours, p.r, bad, 1.0), argument_error);
    // Gradients written over the logits.
    CHECK_THROWS_AS(smoothness_loss(p.anchors, p.neighbours, p.r, p.labels, 1.0, p.anchors.view(), gn.view()),
                    argument_error);
  }
  SECTION("bad values inside the checks' whole vectors, not only in their tails") {
    // 40 anchors, 80 distances: two whole vectors of labels and several of r on any target.
    auto big = make_problem<float>({40, 2, 10, 3.0, 0.01, 1.0, 13});
    auto call_float = [&](std::span<const std::int32_t> labels) {
      Tensor<float> ga2, gn2;
      return smoothness_loss(big.anchors, big.neighbours, big.r, labels, 1.0f, ga2, gn2);
    };
    for (const std::size_t at : {std::size_t(1), std::size_t(17), std::size_t(38)}) {
      INFO("at " << at);
      std::vector<std::int32_t> labels = big.labels;
      labels[at] = 10;
      CHECK_THROWS_WITH(call_float(labels), Catch::Contains("label 10 of anchor " + std::to_string(at)));
      labels[at] = -5;
      CHECK_THROWS_AS(call_float(labels), argument_error);
      const float kept = big.r[std::int64_t(at)];
      big.r[std::int64_t(at)] = 0.0f;
      CHECK_THROWS_WITH(call_float(big.labels), Catch::Contains("r[" + std::to_string(at) + "]"));
      big.r[std::int64_t(at)] = std::numeric_limits<float>::quiet_NaN();
      CHECK_THROWS_AS(call_float(big.labels), numeric_error);
      big.r[std::int64_t(at)] = kept;
    }
    CHECK_NOTHROW(call_float(big.labels));
  }
  SECTION("non-finite logits") {
    p.neighbours[7] = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_AS(call(p.anchors, p.neighbours, p.r, p.labels, 1.0), numeric_error);
    p.neighbours[7] = 0;
    p.anchors[3] = std::numeric_limits<double>::infinity();
    CHECK_THROWS_AS(call(p.anchors, p.neighbours, p.r, p.labels, 1.0), numeric_error);
  }
}
