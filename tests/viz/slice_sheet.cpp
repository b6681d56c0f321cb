#include "farbound/viz/slice_sheet.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "support/text.hpp"

using namespace farbound;
using farbound::testing::count;

namespace {

// A 10 x 10 slice over [-1, 1]^2: class 0 left of a = 0.4, class 1 right of it, max softmax 1
// in the left half and 0.5 (chance for two classes) in the right.
SlicePanel split_panel() {
  SlicePanel p;
  p.slice.grid = PlaneGrid({-1, 1, -1, 1}, 10, 10);
  p.slice.num_classes = 2;
  for (const Point2& c : p.slice.grid.centres()) {
    p.slice.classes.push_back(c.x > 0.4 ? 1 : 0);
    p.slice.confidence.push_back(c.x < 0 ? 1.0f : 0.5f);
  }
  p.ball = {{0.5, 0}, {0, 0.5}, {-0.5, 0}, {0, -0.5}};
  return p;
}

}  // namespace

TEST_CASE("A slice panel: class colours scaled by confidence, boundary, marker, ball", "[slice_sheet]") {
  const SlicePanel panel = split_panel();
  const auto boundaries = slice_boundaries(panel.slice);
  REQUIRE(boundaries.size() == 10);  // one vertical edge per row at a = 0.4
  for (const Segment2& s : boundaries) CHECK(s.a.x == Approx(0.4));

  const RgbImage image = render_slice(panel, 100);
  CHECK(image.at(5, 5) == slice_class_colour(0));                          // sure: full colour
  CHECK(image.at(95, 5) == mix({0, 0, 0}, slice_class_colour(1), 0.25));  // chance: dark
  CHECK(image.at(72, 50) == image.at(95, 5));                              // right of a = 0.4 (pixel 70)
  CHECK(image.at(50, 50) == Rgb{255, 255, 255});                           // the marker at x0
  CHECK(image.at(74, 50) == Rgb{255, 255, 255});                           // the ball near a = 0.5
}

TEST_CASE("A slice sheet has one panel per input and model, and an SVG with the names", "[slice_sheet]") {
  SliceSheet sheet;
  sheet.panels = {{split_panel(), split_panel()}, {split_panel(), split_panel()}, {split_panel(), split_panel()}};
  sheet.row_names = {"image 0", "image 1", "image 2"};
  sheet.column_names = {"plain", "framework"};
  sheet.class_names = {"T-shirt", "Trouser"};
  sheet.panel_size = 64;
  const RgbImage image = render_slice_sheet(sheet);
  CHECK(image.width() == 110 + 2 * 72);
  CHECK(image.height() == 30 + 3 * 72 + 10 + 2 * 20);  // 144 pixels of panels hold one 120-pixel legend entry a line
  // The PNG carries the names too: ink under each label, none where no label is.
  const auto inked = [&](int x0, int y0, int x1, int y1) {
    int n = 0;
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) n += image.at(x, y) != Rgb{255, 255, 255};
    return n;
  };
  CHECK(inked(110, 0, 110 + 64, 30) > 20);              // "plain" above column 0
  CHECK(inked(110 + 72, 0, 110 + 72 + 64, 30) > 20);    // "framework" above column 1
  CHECK(inked(0, 30, 102, 30 + 64) > 20);               // "image 0" left of row 0
  CHECK(inked(0, 30 + 2 * 72, 102, 30 + 3 * 72) > 20);  // "image 2"
  CHECK(inked(0, 0, 110, 30) == 0);                     // the corner has no label
  const int legend = 30 + 3 * 72 + 10;
  CHECK(inked(110 + 20, legend, image.width(), legend + 20) > 20);  // "T-shirt" right of its swatch
  CHECK(image.at(110 + 7, legend + 20 + 7) == slice_class_colour(1));  // Trouser's swatch, next line
  const std::string svg = slice_sheet_svg(sheet).str();
  CHECK(count(svg, "<image ") == 6);
  CHECK(count(svg, ">Trouser</text>") == 1);
  CHECK(count(svg, ">framework</text>") == 1);
  sheet.panels[1].pop_back();
  CHECK_THROWS_AS(render_slice_sheet(sheet), argument_error);
}
