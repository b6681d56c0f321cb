#pragma once
// Writes a finished picture atomically: to `path`.tmp, then renamed over `path`, so a
// failure never leaves a half-written file where a previous good one was.
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <system_error>

#include "farbound/core/error.hpp"

namespace farbound::detail {

inline void write_file_atomically(const std::filesystem::path& path, std::span<const char> bytes) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw io_error(tmp.string() + ": cannot open for writing");
    out.write(bytes.data(), std::streamsize(bytes.size()));
    out.flush();
    if (!out) throw io_error(tmp.string() + ": write failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw io_error(path.string() + ": cannot replace with " + tmp.string() + ": " + ec.message());
}

}  // namespace farbound::detail
