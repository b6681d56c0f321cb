#include "farbound/metrics/plane_grid.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

using namespace farbound;

TEST_CASE("distance_to_segment: interior projection, ends, degenerate segment", "[plane_grid]") {
  const Segment2 s{{0, 0}, {2, 0}};
  CHECK(distance_to_segment({1, 3}, s) == Approx(3));
  CHECK(distance_to_segment({-3, 4}, s) == Approx(5));  // beyond end a
  CHECK(distance_to_segment({5, -4}, s) == Approx(5));  // beyond end b
  CHECK(distance_to_segment({1, 0}, s) == 0);
  CHECK(distance_to_segment({4, 5}, Segment2{{1, 1}, {1, 1}}) == Approx(5));
}

TEST_CASE("PlaneRect: border distance, scaling, validation", "[plane_grid]") {
  const PlaneRect r{-1, 3, 0, 2};
  CHECK(r.width() == 4);
  CHECK(r.height() == 2);
  CHECK(r.inner_distance({0, 1}) == Approx(1));
  CHECK(r.inner_distance({2.5, 0.25}) == Approx(0.25));
  CHECK(r.inner_distance({5, 1}) == 0);  // outside
  const PlaneRect s = r.scaled(3);
  CHECK(s.x_min == Approx(-5));
  CHECK(s.x_max == Approx(7));
  CHECK(s.y_min == Approx(-2));
  CHECK(s.y_max == Approx(4));
  CHECK_NOTHROW(r.validate("test"));
  CHECK_THROWS_AS((PlaneRect{1, 1, 0, 1}.validate("test")), argument_error);
  CHECK_THROWS_WITH((PlaneRect{0, 1, 0, std::numeric_limits<double>::infinity()}.validate("who")), Catch::Contains("who"));
}

TEST_CASE("framing_rect: holds the points with the margin, in the requested aspect", "[plane_grid]") {
  const std::vector<Point2> pts{{0, 0}, {4, 1}, {2, -1}};
  const PlaneRect sq = framing_rect(pts, 0.25);  // bounding box 4 x 2, border 1
  CHECK(sq.width() == Approx(6));
  CHECK(sq.height() == Approx(6));
  CHECK((sq.x_min + sq.x_max) / 2 == Approx(2));
  CHECK((sq.y_min + sq.y_max) / 2 == Approx(0));
  const PlaneRect wide = framing_rect(pts, 0.0, 4.0);
  CHECK(wide.width() == Approx(4 * wide.height()));
  for (const Point2& p : pts) CHECK(wide.contains(p));
  const PlaneRect one = framing_rect(std::vector<Point2>{{1, 1}}, 0.5);
  CHECK(one.width() > 0);
  CHECK_THROWS_AS(framing_rect(std::vector<Point2>{}, 0.1), argument_error);
  CHECK_THROWS_AS(framing_rect(pts, -1), argument_error);
  CHECK_THROWS_AS(framing_rect(pts, 0.1, 0), argument_error);
  CHECK_THROWS_AS(framing_rect(std::vector<Point2>{{0, std::nan("")}}, 0.1), argument_error);
}

TEST_CASE("PlaneGrid: cell centres in image order", "[plane_grid]") {
  const PlaneGrid g({0, 4, 0, 2}, 4, 2);
  CHECK(g.size() == 8);
  CHECK(g.dx() == 1);
  CHECK(g.dy() == 1);
  const Point2 first = g.centre(0, 0), last = g.centre(3, 1);
  CHECK(first.x == 0.5);
  CHECK(first.y == 1.5);  // row 0 at the top
  CHECK(last.x == 3.5);
  CHECK(last.y == 0.5);
  const std::vector<Point2> c = g.centres();
  REQUIRE(c.size() == 8);
  CHECK(c[5].x == g.centre(1, 1).x);
  CHECK(c[5].y == g.centre(1, 1).y);
  const PlaneRect inner = g.centre_rect();
  CHECK(inner.x_min == 0.5);
  CHECK(inner.y_max == 1.5);
  CHECK_THROWS_AS(PlaneGrid({0, 1, 0, 1}, 1, 4), argument_error);
  CHECK_THROWS_AS(PlaneGrid({0, 1, 0, 1}, 4, PlaneGrid::max_side + 1), argument_error);
  CHECK_THROWS_AS(PlaneGrid({0, 0, 0, 1}, 4, 4), argument_error);
}

TEST_CASE("to_points reads [N, 2] rows and rejects other shapes", "[plane_grid]") {
  Tensor<float> xy({3, 2});
  for (int i = 0; i < 6; ++i) xy[i] = float(i);
  const std::vector<Point2> p = to_points<float>(xy.view());
  REQUIRE(p.size() == 3);
  CHECK(p[2].x == 4);
  CHECK(p[2].y == 5);
  Tensor<float> bad({2, 3});
  CHECK_THROWS_AS(to_points<float>(bad.view()), shape_error);
}
