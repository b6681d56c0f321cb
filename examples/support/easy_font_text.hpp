#pragma once
// Text on an RgbImage in stb_easy_font's blocky face. stb_easy_font's functions are
// static: include this header from one translation unit of a program only (no library
// inline function may call them).
#include <algorithm>
#include <cstring>
#include <string>

#include <stb/stb_easy_font.h>

#include "farbound/viz/image.hpp"

namespace examples {

// `text`, `scale` image pixels per font pixel, its top-left corner at (x, y).
inline void draw_text(farbound::RgbImage& image, int x, int y, const std::string& text, int scale, farbound::Rgb colour) {
  static char vertices[1 << 16];  // 4 vertices of 16 bytes per quad, ~270 bytes per character
  std::string copy = text;
  const int quads = stb_easy_font_print(0, 0, copy.data(), nullptr, vertices, sizeof vertices);
  for (int q = 0; q < quads; ++q) {
    float corner[4][2];
    for (int v = 0; v < 4; ++v) std::memcpy(corner[v], vertices + (4 * q + v) * 16, sizeof corner[v]);
    const float x0 = std::min({corner[0][0], corner[1][0], corner[2][0], corner[3][0]});
    const float x1 = std::max({corner[0][0], corner[1][0], corner[2][0], corner[3][0]});
    const float y0 = std::min({corner[0][1], corner[1][1], corner[2][1], corner[3][1]});
    const float y1 = std::max({corner[0][1], corner[1][1], corner[2][1], corner[3][1]});
    image.fill_rect(x + int(scale * x0), y + int(scale * y0), x + int(scale * x1), y + int(scale * y1), colour);
  }
}

// Width in image pixels of `text` drawn at `scale`.
inline int text_width(const std::string& text, int scale) {
  std::string copy = text;
  return scale * stb_easy_font_width(copy.data());
}

}  // namespace examples
