#pragma once
// RgbImage: an 8-bit RGB raster (row 0 at the top) with the few drawing operations 2-D
// pictures need: rectangles, copies, and anti-aliased discs and line segments. Drawing
// clips at the border; coordinates are in pixels, pixel (x, y) covering [x, x+1) x [y, y+1).
//
// Anti-aliasing by coverage: a pixel whose centre lies at distance d from a shape's edge
// (negative inside) is covered by clamp(1/2 - d, 0, 1), exact for an edge that is straight
// across the pixel, and blended as out = (1 - a) * out + a * colour.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/metrics/plane_grid.hpp"

namespace farbound {

// A colour, 8 bits per channel.
struct Rgb {
  // Red.
  std::uint8_t r = 0;
  // Green.
  std::uint8_t g = 0;
  // Blue.
  std::uint8_t b = 0;
  // Same three channels.
  friend bool operator==(const Rgb&, const Rgb&) = default;
};

// "#rrggbb", as SVG and CSS write colours.
inline std::string to_hex(Rgb c) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s = "#";
  for (std::uint8_t v : {c.r, c.g, c.b}) {
    s += digits[v >> 4];
    s += digits[v & 15];
  }
  return s;
}

// (1 - t) * a + t * b per channel, t in [0, 1].
inline Rgb mix(Rgb a, Rgb b, double t) {
  const auto lerp = [t](std::uint8_t u, std::uint8_t v) {
    return std::uint8_t(std::lround((1 - t) * double(u) + t * double(v)));
  };
  return {lerp(a.r, b.r), lerp(a.g, b.g), lerp(a.b, b.b)};
}

// An RGB image in memory, row-major, 3 bytes per pixel.
class RgbImage {
 public:
  // Largest width or height.
  static constexpr int max_side = 1 << 14;

  // A width x height image filled with `background`.
  RgbImage(int width, int height, Rgb background = {255, 255, 255}) : width_(width), height_(height) {
    if (width < 1 || height < 1 || width > max_side || height > max_side)
      throw argument_error("RgbImage: " + std::to_string(width) + " x " + std::to_string(height) +
                           " pixels; each side must lie in [1, " + std::to_string(max_side) + "]");
    pixels_.resize(std::size_t(width) * std::size_t(height) * 3);
    fill_rect(0, 0, width, height, background);
  }

  // Width in pixels.
  int width() const { return width_; }
  // Height in pixels.
  int height() const { return height_; }
  // Row-major RGB bytes, 3 per pixel, rows top to bottom (what PNG encoders take).
  std::span<const std::uint8_t> bytes() const { return pixels_; }

  // Pixel (x, y), which must lie inside the image.
  Rgb at(int x, int y) const {
    const std::uint8_t* p = pixel(x, y);
    return {p[0], p[1], p[2]};
  }
  // Sets pixel (x, y); ignored outside the image.
  void set(int x, int y, Rgb c) {
    if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
    std::uint8_t* p = pixel(x, y);
    p[0] = c.r, p[1] = c.g, p[2] = c.b;
  }
  // out = (1 - alpha) * out + alpha * c at pixel (x, y); outside the image nothing happens.
  void blend(int x, int y, Rgb c, double alpha) {
    if (x < 0 || y < 0 || x >= width_ || y >= height_ || !(alpha > 0)) return;
    set(x, y, mix(at(x, y), c, std::min(alpha, 1.0)));
  }

  // Pixels [x0, x1) x [y0, y1).
  void fill_rect(int x0, int y0, int x1, int y1, Rgb c) {
    x0 = std::max(x0, 0), y0 = std::max(y0, 0), x1 = std::min(x1, width_), y1 = std::min(y1, height_);
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) set(x, y, c);
  }

  // Copies `src` with its top-left pixel at (x, y).
  void blit(const RgbImage& src, int x, int y) {
    for (int v = 0; v < src.height(); ++v)
      for (int u = 0; u < src.width(); ++u) set(x + u, y + v, src.at(u, v));
  }

  // A disc of radius r around (cx, cy), with an outline of width `outline` (0: none) drawn
  // over its rim, both at opacity `alpha`.
  void draw_disc(double cx, double cy, double r, Rgb fill, Rgb outline_colour = {}, double outline = 0, double alpha = 1) {
    const double reach = r + 1;
    for (int y = int(std::floor(cy - reach)); y <= int(std::ceil(cy + reach)); ++y)
      for (int x = int(std::floor(cx - reach)); x <= int(std::ceil(cx + reach)); ++x) {
        const double d = std::hypot(x + 0.5 - cx, y + 0.5 - cy) - r;  // signed distance to the rim
        const double cover = coverage(d);
        if (cover <= 0) continue;
        if (outline > 0) {
          // Inside the ring [r - outline, r] the outline colour, further in the fill.
          const double ring = std::clamp(d + outline + 0.5, 0.0, 1.0);
          blend(x, y, mix(fill, outline_colour, ring), cover * alpha);
        } else {
          blend(x, y, fill, cover * alpha);
        }
      }
  }

  // Line segments of the given width; where they overlap (joints of a polyline), a pixel
  // takes the largest coverage once rather than blending twice.
  // Coordinates in pixels.
  void draw_segments(std::span<const Segment2> segments, double width, Rgb c) {
    const double half = width / 2;
    std::vector<float> cover(std::size_t(width_) * std::size_t(height_), 0.0f);
    for (const Segment2& s : segments) {
      const double ax = s.a.x, ay = s.a.y, bx = s.b.x, by = s.b.y;
      const int x0 = std::max(0, int(std::floor(std::min(ax, bx) - half - 1)));
      const int x1 = std::min(width_ - 1, int(std::ceil(std::max(ax, bx) + half + 1)));
      const int y0 = std::max(0, int(std::floor(std::min(ay, by) - half - 1)));
      const int y1 = std::min(height_ - 1, int(std::ceil(std::max(ay, by) + half + 1)));
      const double ux = bx - ax, uy = by - ay, len2 = ux * ux + uy * uy;
      for (int y = y0; y <= y1; ++y)
        for (int x = x0; x <= x1; ++x) {
          const double wx = x + 0.5 - ax, wy = y + 0.5 - ay;
          const double t = len2 > 0 ? std::clamp((wx * ux + wy * uy) / len2, 0.0, 1.0) : 0.0;
          float& slot = cover[std::size_t(y) * std::size_t(width_) + std::size_t(x)];
          slot = std::max(slot, float(coverage(std::hypot(wx - t * ux, wy - t * uy) - half)));
        }
    }
    for (int y = 0; y < height_; ++y)
      for (int x = 0; x < width_; ++x) blend(x, y, c, cover[std::size_t(y) * std::size_t(width_) + std::size_t(x)]);
  }

 private:
  static double coverage(double signed_distance) { return std::clamp(0.5 - signed_distance, 0.0, 1.0); }
  std::uint8_t* pixel(int x, int y) { return pixels_.data() + (std::size_t(y) * std::size_t(width_) + std::size_t(x)) * 3; }
  const std::uint8_t* pixel(int x, int y) const {
    return pixels_.data() + (std::size_t(y) * std::size_t(width_) + std::size_t(x)) * 3;
  }

  int width_, height_;
  std::vector<std::uint8_t> pixels_;
};

}  // namespace farbound
