#pragma once
// The moves of the Square attack (attack/square.hpp): where a window goes, what the L-inf and
// L2 perturbations put into it, and the random numbers behind both.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "farbound/core/random.hpp"

namespace farbound::detail {

// An item as an image: channels, rows, columns (row-major within a channel).
struct ImageShape {
  std::int64_t c = 1, h = 1, w = 1;
};

// The numbers of one item's search: per query q, window corners and a transposition flag
// (positions) and a sign per channel (signs); the start's signs (start).
class SquareRandom {
 public:
  SquareRandom(std::uint64_t seed, int restart, std::int64_t item)
      : positions_(seed, Purpose::attack, std::uint32_t(restart), std::uint32_t(item), 16),
        signs_(seed, Purpose::attack, std::uint32_t(restart), std::uint32_t(item), 17),
        start_(seed, Purpose::attack, std::uint32_t(restart), std::uint32_t(item), 18) {}

  // Number `which` (0..4) of query q, uniform in [0, n].
  std::int64_t position(int q, int which, std::int64_t n) const {
    return positions_.below(std::uint64_t(q) * 5 + std::uint64_t(which), std::uint32_t(n + 1));
  }
  // +1 or -1 for channel ch of query q (of c channels).
  double sign(int q, std::int64_t ch, std::int64_t c) const {
    return signs_.below(std::uint64_t(q) * std::uint64_t(c) + std::uint64_t(ch), 2) ? 1.0 : -1.0;
  }
  // Number i of the start: +1 or -1.
  double start_sign(std::int64_t i) const { return start_.below(std::uint64_t(i), 2) ? 1.0 : -1.0; }

 private:
  RandomStream positions_, signs_, start_;
};

// The side of the square window covering a share p of the image: round(sqrt(p H W)), at
// least 1 (L2: at least 3 and odd, so that the bump has a centre), at most the image.
inline std::int64_t square_side(bool l2, double p, const ImageShape& image) {
  auto s = std::max<std::int64_t>(std::llround(std::sqrt(p * double(image.h * image.w))), l2 ? 3 : 1);
  if (l2 && s % 2 == 0) ++s;
  return std::min({s, image.h, image.w});
}

// L-inf start: x = x0 + eps * sign(channel, column), vertical stripes.
template <class T>
void linf_stripes(const T* x0, T* x, const ImageShape& im, T eps, const SquareRandom& random) {
  for (std::int64_t ch = 0; ch < im.c; ++ch)
    for (std::int64_t col = 0; col < im.w; ++col) {
      const T v = eps * T(random.start_sign(ch * im.w + col));
      for (std::int64_t row = 0; row < im.h; ++row) {
        const std::int64_t j = (ch * im.h + row) * im.w + col;
        x[j] = x0[j] + v;
      }
    }
}

// L-inf query q: a window of the share p set to x0 + eps * sign(channel).
template <class T>
void linf_window(const T* x0, T* x, const ImageShape& im, T eps, double p, int q, const SquareRandom& random) {
  const std::int64_t s = square_side(false, p, im);
  const std::int64_t top = random.position(q, 0, im.h - s), left = random.position(q, 1, im.w - s);
  for (std::int64_t ch = 0; ch < im.c; ++ch) {
    const T v = eps * T(random.sign(q, ch, im.c));
    for (std::int64_t row = top; row < top + s; ++row)
      for (std::int64_t col = left; col < left + s; ++col) {
        const std::int64_t j = (ch * im.h + row) * im.w + col;
        x[j] = x0[j] + v;
      }
  }
}

// The L2 bumps: for a side s, the s x s pattern whose upper s/2 rows are +r(s/2, s) and lower
// rows -r(s - s/2, s), where r(a, b) sums 1/(k+1)^2 over nested rectangles k = 0, 1, ...
// grown around the centre of an a x b block; unit L2 norm; also transposed. Prepared (not
// thread-safe) before a parallel loop reads them.
template <class T>
class SquareBumps {
 public:
  void prepare(std::int64_t s) {
    if (std::int64_t(bumps_.size()) <= s) bumps_.resize(std::size_t(s + 1));
    auto& b = bumps_[std::size_t(s)];
    if (!b.empty()) return;
    b.assign(std::size_t(2 * s * s), 0.0);
    add_rectangles(b.data(), s / 2, s, 1.0);
    add_rectangles(b.data() + (s / 2) * s, s - s / 2, s, -1.0);
    double norm = 0;
    for (std::int64_t j = 0; j < s * s; ++j) norm += b[std::size_t(j)] * b[std::size_t(j)];
    norm = std::sqrt(norm);
    for (std::int64_t j = 0; j < s * s; ++j) b[std::size_t(j)] /= norm;
    for (std::int64_t r = 0; r < s; ++r)
      for (std::int64_t c = 0; c < s; ++c) b[std::size_t(s * s + c * s + r)] = b[std::size_t(r * s + c)];
  }
  // Entry (row, col) of the bump of side s, transposed or not.
  double at(std::int64_t s, bool transposed, std::int64_t row, std::int64_t col) const {
    return bumps_[std::size_t(s)][std::size_t((transposed ? s * s : 0) + row * s + col)];
  }

 private:
  // block [a, b] (row-major, b columns) += sign * the nested rectangles.
  static void add_rectangles(double* block, std::int64_t a, std::int64_t b, double sign) {
    std::int64_t r0 = a / 2, c0 = b / 2;
    for (std::int64_t k = 0; k < std::max(a / 2 + 1, b / 2 + 1); ++k, --r0, --c0)
      for (std::int64_t r = std::max<std::int64_t>(r0, 0); r < std::min(r0 + 2 * k + 1, a); ++r)
        for (std::int64_t c = std::max<std::int64_t>(c0, 0); c < std::min(c0 + 2 * k + 1, b); ++c)
          block[r * b + c] += sign / double((k + 1) * (k + 1));
  }

  std::vector<std::vector<double>> bumps_;
};

// The side of the start's L2 bumps: a 5 x 5 grid (at least 1 pixel).
inline std::int64_t l2_grid_side(const ImageShape& im) { return std::max<std::int64_t>(im.h / 5, 1); }

// x = x0 + eps * delta / ||delta||_2 for the perturbation delta held in x.
template <class T>
void rescale_perturbation(const T* x0, T* x, std::int64_t d, double eps) {
  double norm = 0;
  for (std::int64_t j = 0; j < d; ++j) norm += double(x[j]) * double(x[j]);
  const double scale = eps / (std::sqrt(norm) + 1e-12);
  for (std::int64_t j = 0; j < d; ++j) x[j] = x0[j] + T(double(x[j]) * scale);
}

// L2 start: a grid of bumps of side l2_grid_side (prepared), each with a random orientation
// and a random sign per channel, scaled to norm eps.
template <class T>
void l2_grid(const T* x0, T* x, const ImageShape& im, double eps, const SquareRandom& random,
             const SquareBumps<T>& bumps) {
  const std::int64_t s = l2_grid_side(im), d = im.c * im.h * im.w;
  const std::int64_t top0 = std::max<std::int64_t>((im.h - 5 * s) / 2, 0),
                     left0 = std::max<std::int64_t>((im.w - 5 * s) / 2, 0);
  std::fill(x, x + d, T(0));
  std::int64_t window = 0;
  for (std::int64_t top = top0; top + s <= im.h; top += s)
    for (std::int64_t left = left0; left + s <= im.w; left += s, ++window) {
      const bool transposed = random.start_sign(window * (im.c + 1)) > 0;
      for (std::int64_t ch = 0; ch < im.c; ++ch) {
        const double sign = random.start_sign(window * (im.c + 1) + 1 + ch);
        for (std::int64_t r = 0; r < s; ++r)
          for (std::int64_t c = 0; c < s; ++c)
            x[(ch * im.h + top + r) * im.w + left + c] += T(sign * bumps.at(s, transposed, r, c));
      }
    }
  rescale_perturbation(x0, x, d, eps);
}

// L2 query q on x (the best point so far): see square.hpp. The side (square_side(true, p))
// must be prepared in bumps.
template <class T>
void l2_window(const T* x0, T* x, const ImageShape& im, double eps, double p, int q, const SquareRandom& random,
               const SquareBumps<T>& bumps) {
  const std::int64_t s = square_side(true, p, im), d = im.c * im.h * im.w;
  const std::int64_t top = random.position(q, 0, im.h - s), left = random.position(q, 1, im.w - s);
  const std::int64_t top2 = random.position(q, 2, im.h - s), left2 = random.position(q, 3, im.w - s);
  const bool transposed = random.position(q, 4, 1) == 1;
  const auto in = [s](std::int64_t row, std::int64_t col, std::int64_t t, std::int64_t l) {
    return row >= t && row < t + s && col >= l && col < l + s;
  };
  double image_sq = 0, windows_sq = 0;
  for (std::int64_t j = 0; j < d; ++j) {
    x[j] -= x0[j];  // x holds the perturbation from here on
    const double v = double(x[j]) * double(x[j]);
    const std::int64_t row = (j / im.w) % im.h, col = j % im.w;
    image_sq += v;
    if (in(row, col, top, left) || in(row, col, top2, left2)) windows_sq += v;
  }
  // The window's new content: the bump plus the old window's direction, with the mass of
  // both windows and what the ball has left, shared equally by the channels.
  const double mass = std::sqrt(std::max(eps * eps - image_sq, 0.0) / double(im.c) + windows_sq);
  thread_local std::vector<double> fresh;
  fresh.assign(std::size_t(im.c * s * s), 0.0);
  for (std::int64_t ch = 0; ch < im.c; ++ch) {
    double* f = fresh.data() + ch * s * s;
    double old = 0;
    for (std::int64_t r = 0; r < s; ++r)
      for (std::int64_t c = 0; c < s; ++c) old += std::pow(double(x[(ch * im.h + top + r) * im.w + left + c]), 2);
    old = std::sqrt(old) + 1e-12;
    const double sign = random.sign(q, ch, im.c);
    double norm = 0;
    for (std::int64_t r = 0; r < s; ++r)
      for (std::int64_t c = 0; c < s; ++c) {
        f[r * s + c] = sign * bumps.at(s, transposed, r, c) + double(x[(ch * im.h + top + r) * im.w + left + c]) / old;
        norm += f[r * s + c] * f[r * s + c];
      }
    const double scale = mass / (std::sqrt(norm) + 1e-12);
    for (std::int64_t j = 0; j < s * s; ++j) f[j] *= scale;
  }
  for (std::int64_t ch = 0; ch < im.c; ++ch)
    for (std::int64_t r = 0; r < s; ++r)
      for (std::int64_t c = 0; c < s; ++c) {
        x[(ch * im.h + top2 + r) * im.w + left2 + c] = T(0);
      }
  for (std::int64_t ch = 0; ch < im.c; ++ch)
    for (std::int64_t r = 0; r < s; ++r)
      for (std::int64_t c = 0; c < s; ++c) x[(ch * im.h + top + r) * im.w + left + c] = T(fresh[std::size_t((ch * s + r) * s + c)]);
  rescale_perturbation(x0, x, d, eps);
}

}  // namespace farbound::detail
