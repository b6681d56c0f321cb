#include "farbound/viz/text.hpp"

#include <catch2/catch.hpp>

using namespace farbound;

namespace {

// Pixels of `image` in [x0, x1) x [y0, y1) that are not `background`.
int inked(const RgbImage& image, int x0, int y0, int x1, int y1, Rgb background = {255, 255, 255}) {
  int n = 0;
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) n += image.at(x, y) != background;
  return n;
}

}  // namespace

TEST_CASE("Text is stb_easy_font's quads, scaled and filled", "[text]") {
  // "I" is one vertical stroke 7 units tall (and serifs): at scale 2 from (10, 10) it covers
  // pixels in rows 10..23 and nothing above, below or right of its advance.
  RgbImage image(60, 40);
  draw_text(image, 10, 10, "I", 2, {0, 0, 0});
  CHECK(inked(image, 0, 0, 60, 10) == 0);
  CHECK(inked(image, 0, 24, 60, 40) == 0);
  CHECK(inked(image, 10, 10, 10 + text_width("I", 2), 24) > 14);
  CHECK(inked(image, 10 + text_width("I", 2), 0, 60, 40) == 0);
  // At an integer scale and position every pixel is fully in or out: only two colours.
  for (int y = 0; y < 40; ++y)
    for (int x = 0; x < 60; ++x) CHECK((image.at(x, y) == Rgb{0, 0, 0} || image.at(x, y) == Rgb{255, 255, 255}));

  CHECK(text_width("II", 2) == 2 * text_width("I", 2));
  CHECK(text_width("I", 3) == 3 * text_width("I", 1));
  CHECK(text_height("a\nb", 1) == 24);
}

TEST_CASE("Text outside printable ASCII is drawn as '?', never read past the font's tables", "[text]") {
  RgbImage question(40, 30), odd(40, 30);
  draw_text(question, 2, 2, "??", 2, {0, 0, 0});
  draw_text(odd, 2, 2, "\x01\xc3", 2, {0, 0, 0});
  CHECK(text_width("\x01\xc3", 2) == text_width("??", 2));
  for (int y = 0; y < 30; ++y)
    for (int x = 0; x < 40; ++x) CHECK(odd.at(x, y) == question.at(x, y));
  // Clipped at the border, half outside.
  RgbImage small(8, 8);
  draw_text(small, -5, -5, "W", 2, {0, 0, 0});
  CHECK(inked(small, 0, 0, 8, 8) > 0);
  CHECK_THROWS_AS(draw_text(small, 0, 0, "W", 0, {0, 0, 0}), argument_error);
}
