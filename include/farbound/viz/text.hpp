#pragma once
// Text in an RgbImage, for the labels of PNG pictures. The glyphs are stb_easy_font's
// (Debian libstb-dev): it turns a string into axis-aligned quads, strokes one font unit wide
// on lines 12 units apart (capitals 7 units tall, descenders to 9). draw_text scales the
// quads by `scale` pixels per unit and fills them, a pixel covered by the area it shares
// with the quads (exact for rectangles; at an integer scale and position every pixel is
// fully in or out, so the text stays crisp).
//
// stb_easy_font's functions are `static`: every translation unit that includes this header
// gets its own copy. They are pure functions of the text (farbound never calls
// stb_easy_font_spacing, the library's one piece of state), so the inline functions below
// compute the same whichever unit's copy the linker keeps.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#if __has_include(<stb/stb_easy_font.h>)
#include <stb/stb_easy_font.h>  // Debian's layout
#elif __has_include(<stb_easy_font.h>)
#include <stb_easy_font.h>
#else
#error "farbound/viz/text.hpp needs stb_easy_font.h (Debian: apt install libstb-dev)"
#endif

#include "farbound/core/error.hpp"
#include "farbound/viz/image.hpp"

namespace farbound {

namespace detail {

// The font has glyphs for ASCII 32..126 only (and indexes its tables by the byte, so any
// other byte would read outside them): those become '?', line breaks stay.
inline std::string easy_font_text(std::string_view text) {
  std::string s(text);
  for (char& c : s)
    if (c != '\n' && (c < 32 || c > 126)) c = '?';
  return s;
}

// Bytes of the vertex buffer stb_easy_font_print needs for `s`: 4 vertices of 16 bytes per
// segment of each glyph (segments of length 0 emit nothing, so this is an upper bound).
inline std::size_t easy_font_buffer_bytes(const std::string& s) {
  std::size_t segments = 0;
  for (char c : s) {
    if (c == '\n') continue;
    const auto& glyph = stb_easy_font_charinfo[c - 32];
    const auto& next = stb_easy_font_charinfo[c - 32 + 1];
    segments += std::size_t(next.h_seg - glyph.h_seg) + std::size_t(next.v_seg - glyph.v_seg);
  }
  return 64 * (segments + 1);
}

}  // namespace detail

// Width in pixels of `text` drawn at `scale` pixels per font unit (the widest line).
inline int text_width(std::string_view text, double scale) {
  std::string s = detail::easy_font_text(text);
  return int(std::ceil(scale * stb_easy_font_width(s.data())));
}

// Height in pixels of `text`'s lines at `scale` (12 units a line).
inline int text_height(std::string_view text, double scale) {
  std::string s = detail::easy_font_text(text);
  return int(std::ceil(scale * stb_easy_font_height(s.data())));
}

// Draws `text` with the top-left of its first line at (x, y) pixels, `scale` pixels per font
// unit (2 gives 14-pixel capitals), in colour `c`; clipped at the image's border.
inline void draw_text(RgbImage& image, double x, double y, std::string_view text, double scale, Rgb c) {
  if (!(scale > 0)) throw argument_error("draw_text: scale must be positive");
  std::string s = detail::easy_font_text(text);
  std::vector<char> vertices(detail::easy_font_buffer_bytes(s));
  const int quads = stb_easy_font_print(0, 0, s.data(), nullptr, vertices.data(), int(vertices.size()));
  // Coverage over the text's box, summed over the quads (they only touch or overlap on
  // whole font units) and clamped to 1, then blended once.
  const int x0 = int(std::floor(x)), y0 = int(std::floor(y));
  const int w = text_width(s, scale) + 2, h = text_height(s, scale) + 2;
  std::vector<float> cover(std::size_t(w) * std::size_t(h), 0.0f);
  const auto vertex = [&](int q, int k, int coordinate) {
    float v;
    std::memcpy(&v, vertices.data() + 64 * q + 16 * k + 4 * coordinate, sizeof v);
    return x * (1 - coordinate) + y * coordinate + scale * double(v);
  };
  for (int q = 0; q < quads; ++q) {
    // Vertices 0 and 2 are opposite corners (stb_easy_font_draw_segs).
    const double ax = vertex(q, 0, 0), ay = vertex(q, 0, 1), bx = vertex(q, 2, 0), by = vertex(q, 2, 1);
    for (int py = std::max(int(std::floor(ay)), y0); py < std::min(int(std::ceil(by)), y0 + h); ++py)
      for (int px = std::max(int(std::floor(ax)), x0); px < std::min(int(std::ceil(bx)), x0 + w); ++px) {
        const double across = std::min(bx, px + 1.0) - std::max(ax, double(px));
        const double down = std::min(by, py + 1.0) - std::max(ay, double(py));
        cover[std::size_t(py - y0) * std::size_t(w) + std::size_t(px - x0)] += float(across * down);
      }
  }
  for (int v = 0; v < h; ++v)
    for (int u = 0; u < w; ++u) image.blend(x0 + u, y0 + v, c, std::min(1.0f, cover[std::size_t(v) * std::size_t(w) + std::size_t(u)]));
}

}  // namespace farbound
