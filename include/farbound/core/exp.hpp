#pragma once
// exp(x) of a SIMD batch with xsimd::exp's bits in fewer instructions (floats on AVX-512 and
// AVX2):
//   exp_nonpositive(x)  lanes <= 0 or NaN: nn/loss.hpp's softmax exp(z - max z), softplus's
//                       exp(-|x|), CELU's derivative exp(x / alpha) where x <= 0;
//   exp_full_range(x)   any lane: Mish's exp(min(x, 20));
//   exp_negated(x)      e^-x for any lane, the sigmoid's, with those bits where they are
//                       normal floats;
// softmax_exp(x), e^x for lanes <= 0 in 9 instructions rather than 13, accurate next to 1
// rather than to itself (the smoothness kernels' softmaxes; see there); and expm1_nonpositive(x),
// e^x - 1 for lanes <= 0 or NaN (CELU's value), without the division of xsimd::expm1 and
// so not with its bits (see there).
//
// xsimd computes exp(x) = 2^k * P(r), k = nearbyint(x / ln 2), r = x - k ln 2 (in two
// parts), P a polynomial; it builds 2^k by an integer conversion, an add and a shift and
// multiplies, then clamps both ends of the range with a compare and a select each. Here
// P(r) is evaluated the same way and scaled by one vscalef (exact, as the product by 2^k
// is). The low end is clamped where xsimd returns +0: wherever k <= -127 (xsimd's 2^k then
// has an exponent field of zero; its own test x <= minlog lies inside that). Non-positive
// lanes cannot overflow; exp_full_range adds xsimd's high clamp, +inf from x >= maxlog =
// 88.376 (below it the two agree; above it vscalef alone would give the finite exp(x) up to
// 88.72). tests/core/exp.cpp compares a sample of all floats and every float at both
// clamps' edges with xsimd::exp; all 2^32 of them agree.
//
// 13 instructions instead of 19 per 16 floats (15 over the full range); the polynomial's
// fused multiply-adds are most of either, so a loop of exponentials runs about 1.3x as fast
// (2.97 against 3.85 ns per 16 floats on one Zen 4 core). Doubles and other targets use
// xsimd::exp itself: the same rewrite for doubles gave other bits inside the smoothness
// kernel, where the compiler fused its products otherwise than in xsimd::exp, and its
// division outweighs the saving.
#include <cstddef>
#include <iterator>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "farbound/core/host_device.hpp"

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace farbound::simd {

#if defined(__AVX2__)
namespace detail {

// xsimd's range reduction for exp(x), 8 or 16 floats: k = nearbyint(x / ln 2) and r = x - k ln 2
// (ln 2 in two parts), |r| <= ln(2)/2, so that e^x = 2^k e^r. xsimd's generic fma and fnma,
// as its exp calls them, so that the compiler fuses (or does not) the same products as in
// xsimd::exp. With `negated`, the reduction of -x without negating x: the same k and -r,
// exactly (x / ln 2 and every fused step negated, which rounding to nearest only mirrors).
template <class A>
struct ReducedByLn2 {
  xsimd::batch<float, A> k, r;
};
template <bool negated = false, class A>
FARBOUND_FORCE_INLINE ReducedByLn2<A> reduce_by_ln2(const xsimd::batch<float, A>& x) {
  using B = xsimd::batch<float, A>;
  namespace c = xsimd::constants;
  constexpr int nearest = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  const B scaled = (negated ? -c::invlog_2<B>() : c::invlog_2<B>()) * x;
#if defined(__AVX512F__)
  const B k(_mm512_roundscale_ps(scaled, nearest));
#else
  const B k(_mm256_round_ps(scaled, nearest));
#endif
  if constexpr (negated) return {k, xsimd::fma(k, c::log_2lo<B>(), xsimd::fma(k, c::log_2hi<B>(), x))};
  B r = xsimd::fnma(k, c::log_2hi<B>(), x);
  return {k, xsimd::fnma(k, c::log_2lo<B>(), r)};
}

// e^r - 1 as r + r^2 S(r), S by Horner's rule from the coefficients given highest first.
// With `negated`, of -r, step by step the negation of the same computation on -r.
template <bool negated = false, std::size_t N, class A>
FARBOUND_FORCE_INLINE xsimd::batch<float, A> expm1_reduced(const xsimd::batch<float, A>& r, const float (&s)[N]) {
  using B = xsimd::batch<float, A>;
  B p(s[0]);
  FARBOUND_UNROLL for (std::size_t i = 1; i < N; ++i) p = negated ? xsimd::fnma(r, p, B(s[i])) : xsimd::fma(r, p, B(s[i]));
  return negated ? xsimd::fms(p, r * r, r) : xsimd::fma(p, r * r, r);
}

// 2^k for integral k from -127 to 128, 8 floats, by its exponent field k + 127 as xsimd
// builds it: -127 gives 0 and 128 gives +inf.
FARBOUND_FORCE_INLINE __m256 exponent_field_power(__m256 k) {
  const __m256i biased = _mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127));
  return _mm256_castsi256_ps(_mm256_slli_epi32(biased, 23));
}

// xsimd's coefficients for exp (fitted so that 1 + the result is within an ulp of e^r)...
inline constexpr float xsimd_exp_coefficients[] = {0x1.6ef19ep-10f, 0x1.131b16p-7f, 0x1.5552aep-5f, 0x1.55534ap-3f, 0.5f};

// ... and Taylor's, one term longer, for e^r - 1 within an ulp of its own size: xsimd's
// coefficient of r^3 is 1/6 (1 - 2.3e-5), which moved e^r - 1 for r in [-0.35, -0.1] 0.6 ulp
// off on average (63 % of the results inexact, xsimd::expm1 5 %), enough to raise ResNet9's
// logit differences to PyTorch by half through eight CELUs (tests/interop).
inline constexpr float taylor_expm1_coefficients[] = {float(1.0 / 5040), float(1.0 / 720), float(1.0 / 120),
                                                      float(1.0 / 24),   float(1.0 / 6),   0.5f};

// exp_negated's k and e^r, from x already clamped (reduce_by_ln2 and expm1_reduced negated).
template <class A>
struct PowerAndFactor {
  xsimd::batch<float, A> k, p;
};
template <class A>
FARBOUND_FORCE_INLINE PowerAndFactor<A> exp_negated_parts(const xsimd::batch<float, A>& x) {
  const auto [k, r] = reduce_by_ln2<true>(x);
  return {k, expm1_reduced<true>(r, xsimd_exp_coefficients) + xsimd::batch<float, A>(1.0f)};
}

// 2^f for 0 <= f <= 1 as 1 + f Q(f), Q of degree 5 by Horner's rule from these coefficients,
// highest first: fitted for the least largest relative error with the coefficients rounded
// to float (Lawson's iterations on 4 000 Chebyshev points), 1.3e-8 = 0.22 * 2^-24.
inline constexpr float two_to_fraction_coefficients[] = {0x1.c54174p-13f, 0x1.46d64ep-10f, 0x1.3d0b92p-7f,
                                                         0x1.c68912p-5f,  0x1.ebfd58p-3f,  0x1.62e42cp-1f};
template <class A>
FARBOUND_FORCE_INLINE xsimd::batch<float, A> two_to_fraction(const xsimd::batch<float, A>& f) {
  using B = xsimd::batch<float, A>;
  const auto& c = two_to_fraction_coefficients;
  B p(c[0]);
  for (std::size_t i = 1; i < std::size(c); ++i) p = xsimd::fma(p, f, B(c[i]));
  return xsimd::fma(p, f, B(1.0f));
}

}  // namespace detail
#endif

// Always inlined: as a call its register argument and result go through memory.
template <class T, class A>
FARBOUND_FORCE_INLINE xsimd::batch<T, A> exp_nonpositive(const xsimd::batch<T, A>& x) {
#if defined(__AVX512F__)
  using B = xsimd::batch<T, A>;
  if constexpr (std::is_same_v<T, float> && sizeof(B) == 64) {
    const auto [k, r] = detail::reduce_by_ln2(x);
    const B p = detail::expm1_reduced(r, detail::xsimd_exp_coefficients) + B(1.0f);
    const __mmask16 kept = _mm512_cmp_ps_mask(k, _mm512_set1_ps(-127.0f), _CMP_NLE_UQ);  // NaN kept
    return B(_mm512_maskz_scalef_ps(kept, p, k));
  }
#elif defined(__AVX2__)
  // xsimd::exp's own steps (xsimd 8.1's generic float exp) less its high clamp, a compare
  // and a blend that no lane <= 0 or NaN reaches: 16 instructions instead of 19 per 8 floats.
  using B = xsimd::batch<T, A>;
  if constexpr (std::is_same_v<T, float> && sizeof(B) == 32) {
    using reduction = xsimd::kernel::detail::exp_reduction<float, A, xsimd::kernel::detail::exp_tag>;
    B r;
    const B k = reduction::reduce(x, r);
    // The zeros below minlog by an and-not of the comparison's lanes: xsimd::select became a
    // compare, an integer compare and a blend.
    const B scaled = xsimd::ldexp(reduction::approx(r), xsimd::to_int(k));
    return B(_mm256_andnot_ps(_mm256_cmp_ps(x, reduction::minlog(), _CMP_LE_OQ), scaled));
  }
#endif
  return xsimd::exp(x);
}

// Always inlined, as exp_nonpositive. It calls exp_nonpositive on lanes of any sign because
// that computation is xsimd's below maxlog too (only its name says <= 0). Moving it into a
// helper on __m512 that both call gave other bits in one case of the smoothness kernel (the
// compiler fused products across the call otherwise), so it stays here.
template <class T, class A>
FARBOUND_FORCE_INLINE xsimd::batch<T, A> exp_full_range(const xsimd::batch<T, A>& x) {
#if defined(__AVX512F__)
  using B = xsimd::batch<T, A>;
  if constexpr (std::is_same_v<T, float> && sizeof(B) == 64) {
    const __mmask16 overflows = _mm512_cmp_ps_mask(x, xsimd::constants::maxlog<B>(), _CMP_GE_OQ);
    return B(_mm512_mask_blend_ps(overflows, exp_nonpositive(x), xsimd::constants::infinity<B>()));
  }
#elif defined(__AVX2__)
  using B = xsimd::batch<T, A>;
  if constexpr (std::is_same_v<T, float> && sizeof(B) == 32) {
    const __m256 overflows = _mm256_cmp_ps(x, xsimd::constants::maxlog<B>(), _CMP_GE_OQ);
    return B(_mm256_blendv_ps(exp_nonpositive(x), xsimd::constants::infinity<B>(), overflows));
  }
#endif
  return xsimd::exp(x);
}

// e^-x for any lane: the sigmoid's. xsimd::exp(-x)'s steps on x itself (reduce_by_ln2's
// `negated`), with x clamped where k reaches past the scaling's range instead of compared
// twice and selected: on AVX-512 1 + 15 instructions become 14 per 16 floats, and a loop of
// sigmoids in L1 takes 9 % less time (18 % on AVX2; docs/performance.md). The same bits as
// xsimd::exp(-x) wherever that is a normal float; on AVX-512 vscalef gives the subnormal
// results for -x below about -87.3, where xsimd gives 0, and e^-x itself up to -x = 88.72,
// where xsimd gives +inf from 88.376. On AVX2 2^k is built from its exponent field as xsimd
// does, and so are its zeros and +inf: every bit is xsimd's but at -x = maxlog itself, where
// xsimd gives +inf for e^-x's finite value (every float checked). Elsewhere
// exp_full_range(-x). NaN stays NaN (max and min return their second operand, x, when either
// is NaN; its sign is x's).
template <class T, class A>
FARBOUND_FORCE_INLINE xsimd::batch<T, A> exp_negated(const xsimd::batch<T, A>& x) {
#if defined(__AVX512F__)
  using B = xsimd::batch<T, A>;
  if constexpr (std::is_same_v<T, float> && sizeof(B) == 64) {
    // -x in [-104, 89]: k from -150 (where scaling gives 0) to 128 (+inf).
    const B clamped(_mm512_min_ps(_mm512_set1_ps(104.0f), _mm512_max_ps(_mm512_set1_ps(-89.0f), x)));
    const auto [k, p] = detail::exp_negated_parts(clamped);
    return B(_mm512_scalef_ps(p, k));
  }
#elif defined(__AVX2__)
  using B = xsimd::batch<T, A>;
  if constexpr (std::is_same_v<T, float> && sizeof(B) == 32) {
    // -x in [-88, 88.7]: k from -127 (an exponent field of 0: xsimd's zeros) to 128 (255: +inf).
    const B clamped(_mm256_min_ps(_mm256_set1_ps(88.0f), _mm256_max_ps(_mm256_set1_ps(-88.7f), x)));
    const auto [k, p] = detail::exp_negated_parts(clamped);
    return p * B(detail::exponent_field_power(k));
  }
#endif
  return exp_full_range(-x);
}

// e^x for lanes x <= 0 (-inf gives 0, NaN stays NaN) where only its error next to 1 matters:
// a softmax's exp(z - max z), whose largest value is 1 and whose small ones are summed with
// it. As 2^y, y = x log2(e) rounded once, y = k + f with k = floor(y) and f = y - k in
// [0, 1], 2^f by a polynomial, 2^k by the exponent field (AVX2) or, on AVX-512, f by one
// vreduceps and the product by 2^floor(y) by one vscalefps, which also gives -inf's 0 (f
// is 0 there) and the subnormal results: 9 instructions per 16 floats on AVX-512 against
// exp_nonpositive's 13, whose ln 2 in two parts keeps the error of r = x - k ln 2 under an
// ulp however large k is, and whose compare and mask give xsimd's zeros. Here
// y's rounding (half an ulp of y) and log2(e)'s move the result by up to 1.25 |x| 2^-24 of
// itself: e^x within (2 + 1.25 |x|) 2^-24 of itself (tests/core/exp.cpp; the worst of a
// sample 0.96 of that, at x = -44.5), and so within 1.4 * 2^-24 of 1 for every x, about an
// ulp of the largest term of the sum. On AVX2 zero below about -87.3 (k <= -127), as
// xsimd::exp is below -88.4. The smoothness kernels took 9 % (C = 10) to 12 % (C = 100) less
// time than with exp_nonpositive (docs/performance.md). Floats on AVX-512 (with its DQ
// instructions) and AVX2; xsimd::exp elsewhere.
template <class T, class A>
FARBOUND_FORCE_INLINE xsimd::batch<T, A> softmax_exp(const xsimd::batch<T, A>& x) {
#if defined(__AVX512DQ__)
  using B = xsimd::batch<T, A>;
  if constexpr (std::is_same_v<T, float> && sizeof(B) == 64) {
    const B y = x * xsimd::constants::invlog_2<B>();
    const B f(_mm512_reduce_ps(y, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC));  // y - floor(y)
    return B(_mm512_scalef_ps(detail::two_to_fraction(f), y));
  }
#elif defined(__AVX2__)
  using B = xsimd::batch<T, A>;
  if constexpr (std::is_same_v<T, float> && sizeof(B) == 32) {
    const B y = x * xsimd::constants::invlog_2<B>();
    const B k(_mm256_round_ps(y, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC));
    // 2^k from its exponent field, which holds k >= -126; below, zero (and -inf's NaN f too).
    const B two_to_k(detail::exponent_field_power(k));
    const B scaled = detail::two_to_fraction(y - k) * two_to_k;
    return B(_mm256_andnot_ps(_mm256_cmp_ps(k, _mm256_set1_ps(-127.0f), _CMP_LE_OQ), scaled));
  }
#endif
  return xsimd::exp(x);
}

// e^x - 1 for lanes <= 0 or NaN (lanes > 0 give unspecified values), within an ulp of the
// correctly rounded result (xsimd::expm1, which other targets get: two ulp at x = -15.94)
// and not biased (tests/core/exp.cpp: every 61st non-positive float, and every fifth in each
// stretch of [-20, 0], where about as many are inexact as of xsimd::expm1's). With k and r
// as in exp_nonpositive, e^x - 1 = 2^k (e^r - 1) + (2^k - 1): e^r - 1 is r + r^2 S(r),
// accurate relative to its own size however small r is, and 2^k - 1 is exact for k >= -24,
// so the sum, one fused multiply-add (the product by 2^k is exact), is one rounding.
// xsimd::expm1 instead divides by a rational correction and rebuilds 2^k by integer
// arithmetic: CELU's forward took 1.5x as long with it on AVX-512, 1.6x on AVX2
// (docs/performance.md). Floats on AVX-512 and AVX2.
template <class T, class A>
FARBOUND_FORCE_INLINE xsimd::batch<T, A> expm1_nonpositive(const xsimd::batch<T, A>& x) {
#if defined(__AVX512F__)
  using B = xsimd::batch<T, A>;
  if constexpr (std::is_same_v<T, float> && sizeof(B) == 64) {
    // Below -104 the result is -1 all the same; -inf would make r = -inf + inf. NaN lanes
    // stay NaN (max returns its second operand when either is NaN).
    const auto [k, r] = detail::reduce_by_ln2(B(_mm512_max_ps(_mm512_set1_ps(-104.0f), x)));
    const B expm1_r = detail::expm1_reduced(r, detail::taylor_expm1_coefficients);
    const B two_to_k(_mm512_scalef_ps(_mm512_set1_ps(1.0f), k));
    return xsimd::fma(expm1_r, two_to_k, two_to_k - B(1.0f));
  }
#elif defined(__AVX2__)
  using B = xsimd::batch<T, A>;
  if constexpr (std::is_same_v<T, float> && sizeof(B) == 32) {
    // The same steps with 2^k built from its exponent field, which holds k >= -126: x is
    // clamped at -87 instead (k >= -126; e^x - 1 rounds to -1 from -17.4 down).
    const auto [k, r] = detail::reduce_by_ln2(B(_mm256_max_ps(_mm256_set1_ps(-87.0f), x)));
    const B expm1_r = detail::expm1_reduced(r, detail::taylor_expm1_coefficients);
    const B two_to_k(detail::exponent_field_power(k));
    return xsimd::fma(expm1_r, two_to_k, two_to_k - B(1.0f));
  }
#endif
  return xsimd::expm1(x);
}

}  // namespace farbound::simd
