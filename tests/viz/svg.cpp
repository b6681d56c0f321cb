#include "farbound/viz/svg.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "support/text.hpp"

using namespace farbound;
using farbound::testing::count;

TEST_CASE("svg numbers: 7 significant digits, locale-free, finite only", "[svg]") {
  CHECK(detail::svg_number(0.25) == "0.25");
  CHECK(detail::svg_number(123.456789) == "123.4568");
  CHECK(detail::svg_number(-3) == "-3");
  CHECK(detail::svg_number(1e-7) == "1e-07");
  CHECK_THROWS_AS(detail::svg_number(std::numeric_limits<double>::quiet_NaN()), argument_error);
}

TEST_CASE("base64 and XML escaping", "[svg]") {
  const auto b64 = [](const std::string& s) {
    return detail::base64(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
  };
  // RFC 4648 section 10.
  CHECK(b64("") == "");
  CHECK(b64("f") == "Zg==");
  CHECK(b64("fo") == "Zm8=");
  CHECK(b64("foo") == "Zm9v");
  CHECK(b64("foob") == "Zm9vYg==");
  CHECK(b64("fooba") == "Zm9vYmE=");
  CHECK(b64("foobar") == "Zm9vYmFy");
  CHECK(detail::xml_escape("a<b & \"c\" 'd'>") == "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
}

TEST_CASE("SvgDocument writes shapes, paths, text, images and clipped groups", "[svg]") {
  SvgDocument svg(200, 100.5);
  svg.rect(1, 2, 3, 4, {.fill = "#ff0000"})
      .circle(10, 20, 2.5, {.fill = "none", .stroke = "black", .stroke_width = 0.5, .opacity = 0.3})
      .line(0, 0, 5, 5, {.stroke = "blue"})
      .path(SvgPath().move_to(0, 0).line_to(10, 5).close(), {.stroke = "#123456", .stroke_width = 2})
      .path(SvgPath(), {.stroke = "black"})  // empty: nothing written
      .text(50, 60, "p < 0.5 & \"flat\"", {.size = 14, .anchor = "middle"});
  const std::uint8_t png[] = {1, 2, 3};
  svg.begin_clip(0, 0, 100, 50).image_png(0, 0, 100, 50, png).end_group();
  svg.begin_clip(0, 0, 10, 10).end_group();
  const std::string s = svg.str();
  CHECK(s.rfind("<?xml", 0) == 0);
  CHECK(s.find("width=\"200\" height=\"100.5\" viewBox=\"0 0 200 100.5\"") != std::string::npos);
  CHECK(s.find("<rect x=\"1\" y=\"2\" width=\"3\" height=\"4\" fill=\"#ff0000\" stroke=\"none\"/>") != std::string::npos);
  CHECK(s.find("stroke-width=\"0.5\" opacity=\"0.3\"") != std::string::npos);
  CHECK(s.find("d=\"M0 0 L10 5 Z\"") != std::string::npos);
  CHECK(count(s, "<path") == 1);
  CHECK(s.find(">p &lt; 0.5 &amp; &quot;flat&quot;</text>") != std::string::npos);
  CHECK(s.find("href=\"data:image/png;base64,AQID\"") != std::string::npos);
  CHECK(s.find("id=\"clip0\"") != std::string::npos);
  CHECK(s.find("id=\"clip1\"") != std::string::npos);
  CHECK(count(s, "<g ") == count(s, "</g>"));
  CHECK(s.size() >= 6);
  CHECK(s.substr(s.size() - 7) == "</svg>\n");
}

TEST_CASE("SvgDocument: errors and files", "[svg][errors]") {
  CHECK_THROWS_AS(SvgDocument(0, 10), argument_error);
  SvgDocument svg(10, 10);
  CHECK_THROWS_AS(svg.end_group(), argument_error);
  CHECK_THROWS_AS(svg.circle(std::numeric_limits<double>::infinity(), 0, 1, {}), argument_error);
  svg.begin_clip(0, 0, 5, 5);
  CHECK_THROWS_WITH(svg.str(), Catch::Contains("left open"));
  svg.end_group();
  const auto path = std::filesystem::temp_directory_path() / "farbound_test.svg";
  svg.write(path);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  CHECK(text.str() == svg.str());
  std::filesystem::remove(path);
  CHECK_THROWS_AS(svg.write("/nonexistent-farbound-dir/x.svg"), io_error);
}
