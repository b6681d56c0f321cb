#include "farbound/viz/image.hpp"

#include <catch2/catch.hpp>

#include <vector>

using namespace farbound;

namespace {
constexpr Rgb white{255, 255, 255}, black{0, 0, 0}, red{200, 10, 20};
}

TEST_CASE("colours: hex form and mixing", "[image]") {
  CHECK(to_hex({0, 128, 255}) == "#0080ff");
  CHECK(to_hex(red) == "#c80a14");
  CHECK(mix(black, white, 0) == black);
  CHECK(mix(black, white, 1) == white);
  CHECK(mix(black, Rgb{200, 100, 50}, 0.5) == Rgb{100, 50, 25});
}

TEST_CASE("RgbImage: background, pixels, clipping and sizes", "[image]") {
  RgbImage img(7, 5, red);
  CHECK(img.width() == 7);
  CHECK(img.height() == 5);
  CHECK(img.bytes().size() == 7 * 5 * 3);
  CHECK(img.at(6, 4) == red);
  img.set(2, 3, black);
  CHECK(img.at(2, 3) == black);
  CHECK(img.bytes()[(3 * 7 + 2) * 3] == 0);  // row-major RGB, row 0 at the top
  img.set(-1, 0, black);                     // outside: ignored
  img.set(7, 0, black);
  img.blend(2, 3, white, 0.5);
  CHECK(img.at(2, 3) == Rgb{128, 128, 128});
  img.blend(2, 3, white, 0);
  CHECK(img.at(2, 3) == Rgb{128, 128, 128});
  img.fill_rect(-3, -3, 2, 2, white);  // clipped to [0, 2) x [0, 2)
  CHECK(img.at(0, 0) == white);
  CHECK(img.at(1, 1) == white);
  CHECK(img.at(2, 2) == red);
  CHECK_THROWS_AS(RgbImage(0, 5), argument_error);
  CHECK_THROWS_AS(RgbImage(5, RgbImage::max_side + 1), argument_error);
}

TEST_CASE("blit copies with an offset and clips", "[image]") {
  RgbImage dst(4, 4, white), src(3, 2, black);
  src.set(2, 1, red);
  dst.blit(src, 2, 3);  // only src (0..1, 0) lands inside
  CHECK(dst.at(2, 3) == black);
  CHECK(dst.at(3, 3) == black);
  CHECK(dst.at(1, 3) == white);
  CHECK(dst.at(3, 2) == white);
}

TEST_CASE("discs: filled centre, anti-aliased rim, outline, untouched outside", "[image]") {
  RgbImage img(40, 40, white);
  img.draw_disc(20, 20, 6, red);
  CHECK(img.at(19, 19) == red);          // pixel centre (19.5, 19.5): well inside
  CHECK(img.at(20 + 8, 20) == white);    // beyond r + 1
  const Rgb rim = img.at(25, 19);        // centre at distance ~5.5: half covered or more
  CHECK(rim.g < 255);
  RgbImage ring(40, 40, white);
  ring.draw_disc(20, 20, 8, red, black, 2);
  CHECK(ring.at(19, 19) == red);
  CHECK(ring.at(26, 19) == black);  // centre (26.5, 19.5) lies 6.5 + ... inside the 2-px rim
  RgbImage faint(10, 10, white);
  faint.draw_disc(5, 5, 3, black, {}, 0, 0.5);
  CHECK(faint.at(4, 4) == Rgb{128, 128, 128});
  RgbImage edge(10, 10, white);
  CHECK_NOTHROW(edge.draw_disc(-2, 11, 5, black));  // mostly outside: clipped
  CHECK(edge.at(0, 9) == black);
}

TEST_CASE("segments: covered along the line, overlaps blended once", "[image]") {
  const std::vector<Segment2> one{{{2, 10.5}, {30, 10.5}}};
  RgbImage a(32, 20, white);
  a.draw_segments(one, 3, black);
  CHECK(a.at(15, 10) == black);  // on the line
  CHECK(a.at(15, 13) == white);  // 3 px away with half-width 1.5
  CHECK(a.at(15, 11) == black);
  const std::vector<Segment2> twice{one[0], one[0]};
  RgbImage b(32, 20, white);
  b.draw_segments(twice, 3, black);
  CHECK(std::vector<std::uint8_t>(a.bytes().begin(), a.bytes().end()) ==
        std::vector<std::uint8_t>(b.bytes().begin(), b.bytes().end()));
  RgbImage c(8, 8, white);
  CHECK_NOTHROW(c.draw_segments(std::vector<Segment2>{{{-50, -50}, {60, 70}}}, 2, black));  // crosses, clipped
  CHECK_NOTHROW(c.draw_segments(std::vector<Segment2>{{{3, 3}, {3, 3}}}, 2, black));      // a dot
  CHECK(c.at(3, 3).r < 255);
}
