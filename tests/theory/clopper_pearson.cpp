#include "farbound/theory/clopper_pearson.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>

using namespace farbound;

namespace {

// Binomial probability C(n, k) p^k (1 - p)^(n - k), through lgamma.
double binomial_pmf(std::int64_t k, std::int64_t n, double p) {
  const double log_c = std::lgamma(double(n) + 1) - std::lgamma(double(k) + 1) - std::lgamma(double(n - k) + 1);
  return std::exp(log_c + double(k) * std::log(p) + double(n - k) * std::log1p(-p));
}

}  // namespace

TEST_CASE("the incomplete beta function matches mpmath", "[theory][clopper_pearson]") {
  // mpmath.betainc(a, b, 0, x, regularized=True) at 40 digits.
  CHECK(detail::regularized_incomplete_beta(2.5, 3.5, 0.3) == Approx(0.29675298929566638).epsilon(1e-13));
  CHECK(detail::regularized_incomplete_beta(200, 300, 0.41) == Approx(0.67762816477217895).epsilon(1e-11));
  CHECK(detail::regularized_incomplete_beta(0.5, 0.5, 0.9) == Approx(0.79516723530086657).epsilon(1e-13));
  CHECK(detail::regularized_incomplete_beta(3, 4, 0) == 0);
  CHECK(detail::regularized_incomplete_beta(3, 4, 1) == 1);
  // I_x(1, b) = 1 - (1 - x)^b.
  CHECK(detail::regularized_incomplete_beta(1, 7, 0.2) == Approx(1 - std::pow(0.8, 7)).epsilon(1e-14));
}

TEST_CASE("Clopper-Pearson bounds match mpmath's beta quantiles", "[theory][clopper_pearson]") {
  struct Case {
    std::int64_t k, n;
    double confidence, lower, upper;
  };
  // Beta quantiles by bisection on mpmath.betainc at 40 digits.
  const Case cases[] = {
      {3, 10, 0.95, 0.06673951117773449, 0.65245285005999724},
      {5, 20, 0.95, 0.086571469101434559, 0.4910458717079575},
      {1, 1000, 0.95, 2.5317487491294066e-5, 0.0055589242798266718},
      {50, 100, 0.99, 0.36886143735892404, 0.63113856264107596},
      {999, 1000, 0.95, 0.99444107572017333, 0.99997468251250871},
  };
  for (const Case& c : cases) {
    CAPTURE(c.k, c.n, c.confidence);
    const ConfidenceInterval ci = clopper_pearson(c.k, c.n, c.confidence);
    CHECK(ci.lower == Approx(c.lower).epsilon(1e-10));
    CHECK(ci.upper == Approx(c.upper).epsilon(1e-10));
  }
}

TEST_CASE("Clopper-Pearson has closed forms at k = 0 and k = n", "[theory][clopper_pearson]") {
  for (std::int64_t n : {1, 2, 7, 100, 100000}) {
    for (double confidence : {0.9, 0.95, 0.999}) {
      CAPTURE(n, confidence);
      const double half_alpha = (1 - confidence) / 2;
      const ConfidenceInterval none = clopper_pearson(0, n, confidence);
      CHECK(none.lower == 0);
      CHECK(none.upper == Approx(1 - std::pow(half_alpha, 1.0 / double(n))).epsilon(1e-10));
      const ConfidenceInterval all = clopper_pearson(n, n, confidence);
      CHECK(all.lower == Approx(std::pow(half_alpha, 1.0 / double(n))).epsilon(1e-10));
      CHECK(all.upper == 1);
    }
  }
  const ConfidenceInterval empty = clopper_pearson(0, 0);
  CHECK(empty.lower == 0);
  CHECK(empty.upper == 1);
}

TEST_CASE("Clopper-Pearson covers every p at least at its level", "[theory][clopper_pearson]") {
  // Exact coverage: sum over k of P(Bin(n, p) = k) [p in CI(k)], for a grid of p.
  for (std::int64_t n : {12, 60}) {
    for (int step = 1; step < 100; ++step) {
      const double p = step / 100.0;
      double coverage = 0;
      for (std::int64_t k = 0; k <= n; ++k)
        if (clopper_pearson(k, n, 0.95).contains(p)) coverage += binomial_pmf(k, n, p);
      CAPTURE(n, p);
      CHECK(coverage >= 0.95 - 1e-12);
    }
  }
}

TEST_CASE("Clopper-Pearson rejects impossible counts and levels", "[theory][clopper_pearson][errors]") {
  CHECK_THROWS_AS(clopper_pearson(5, 4), argument_error);
  CHECK_THROWS_AS(clopper_pearson(-1, 4), argument_error);
  CHECK_THROWS_AS(clopper_pearson(0, -1), argument_error);
  CHECK_THROWS_AS(clopper_pearson(1, 4, 1.0), argument_error);
  CHECK_THROWS_AS(clopper_pearson(1, 4, 0.0), argument_error);
  CHECK_THROWS_AS(clopper_pearson(1, 4, std::nan("")), argument_error);
  CHECK_THROWS_AS(detail::regularized_incomplete_beta(0, 1, 0.5), argument_error);
  CHECK_THROWS_AS(detail::regularized_incomplete_beta(1, 1, 1.5), argument_error);
}
