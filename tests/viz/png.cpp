// The one file of test_viz that compiles stb_image_write's and stb_image's function bodies
// (farbound/viz/png.hpp explains why the library leaves this to programs). The stb headers
// are included again under the macros, not through png.hpp: in the module's unity build
// png.hpp has already been included by an earlier file, and its include guard would skip
// them.
#include "farbound/viz/png.hpp"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <vector>

using namespace farbound;

namespace {

RgbImage pattern(int w, int h) {
  RgbImage img(w, h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) img.set(x, y, {std::uint8_t(x * 7), std::uint8_t(y * 13), std::uint8_t((x + y) * 3)});
  return img;
}

}  // namespace

TEST_CASE("encode_png decodes back to the same pixels", "[png]") {
  for (const auto& [w, h] : std::vector<std::pair<int, int>>{{1, 1}, {17, 5}, {64, 33}}) {
    const RgbImage img = pattern(w, h);
    const std::vector<std::uint8_t> png = encode_png(img);
    REQUIRE(png.size() > 8);
    CHECK(png[1] == 'P');
    int dw = 0, dh = 0, channels = 0;
    std::uint8_t* px = stbi_load_from_memory(png.data(), int(png.size()), &dw, &dh, &channels, 3);
    REQUIRE(px != nullptr);
    CHECK(dw == w);
    CHECK(dh == h);
    CHECK(std::vector<std::uint8_t>(px, px + std::size_t(w) * std::size_t(h) * 3) ==
          std::vector<std::uint8_t>(img.bytes().begin(), img.bytes().end()));
    stbi_image_free(px);
  }
}

TEST_CASE("write_png writes a readable file and reports unwritable paths", "[png]") {
  const auto path = std::filesystem::temp_directory_path() / "farbound_test_png.png";
  write_png(path, pattern(30, 20));
  int w = 0, h = 0, channels = 0;
  std::uint8_t* px = stbi_load(path.string().c_str(), &w, &h, &channels, 3);
  REQUIRE(px != nullptr);
  CHECK(w == 30);
  CHECK(h == 20);
  stbi_image_free(px);
  CHECK(!std::filesystem::exists(path.string() + ".tmp"));
  std::filesystem::remove(path);
  CHECK_THROWS_AS(write_png("/nonexistent-farbound-dir/x.png", pattern(2, 2)), io_error);
}
