#pragma once
// PNG files of an RgbImage, encoded by stb_image_write (Debian libstb-dev).
//
// Linking, the one thing to know: stb_image_write is a single-file library whose function
// bodies are compiled where STB_IMAGE_WRITE_IMPLEMENTATION is defined. This header only
// declares them (a header-only library cannot define them: every translation unit that
// includes it would get its own external definition and the link would fail, and making
// them `static` instead would give each unit a private copy called from farbound's inline
// functions, which then differ between units, an ODR violation). So a program that
// writes PNGs provides the bodies once, either way:
//   - in exactly one .cpp:   #define STB_IMAGE_WRITE_IMPLEMENTATION
//                            #include <farbound/viz/png.hpp>   (before any other include
//                            of stb_image_write.h in that file), or
//   - link Debian's compiled copy: pkg-config stb (-lstb).
// Without either, the link reports undefined stbi_write_png_to_func.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#if __has_include(<stb/stb_image_write.h>)
#include <stb/stb_image_write.h>  // Debian's layout
#elif __has_include(<stb_image_write.h>)
#include <stb_image_write.h>
#else
#error "farbound/viz/png.hpp needs stb_image_write.h (Debian: apt install libstb-dev)"
#endif

#include "farbound/core/error.hpp"
#include "farbound/viz/detail/write_file.hpp"
#include "farbound/viz/image.hpp"

namespace farbound {

// The PNG file's bytes.
inline std::vector<std::uint8_t> encode_png(const RgbImage& image) {
  std::vector<std::uint8_t> out;
  const auto append = [](void* context, void* data, int size) {
    auto* bytes = static_cast<std::vector<std::uint8_t>*>(context);
    bytes->insert(bytes->end(), static_cast<const std::uint8_t*>(data), static_cast<const std::uint8_t*>(data) + size);
  };
  if (!stbi_write_png_to_func(append, &out, image.width(), image.height(), 3, image.bytes().data(), image.width() * 3))
    throw io_error("encode_png: stb_image_write failed on a " + std::to_string(image.width()) + " x " +
                   std::to_string(image.height()) + " image");
  return out;
}

// Writes `image` as a PNG file (stb_image_write; see the top of this file).
inline void write_png(const std::filesystem::path& path, const RgbImage& image) {
  const std::vector<std::uint8_t> bytes = encode_png(image);
  detail::write_file_atomically(path, std::span<const char>(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

}  // namespace farbound
