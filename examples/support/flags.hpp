#pragma once
// The validation layer every farbound tool shares: number flags checked on the text the
// user typed (before CLI11 converts it, so "-1" never wraps to 2^64 - 1 and "1.9" never
// truncates to 1), ranges shown in --help in plain numbers, the thread count capped, and
// output paths checked before any work starts. A bad value is a usage error (exit code 2)
// whose message names the flag, the value and what is allowed.
#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <string>
#include <system_error>

#include <CLI/CLI.hpp>

#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/train/config.hpp"

namespace examples {

// "[lo, hi]" (or "[lo, hi)") in plain numbers: %g for reals, 2^64 - 1 for the largest seed.
template <class V>
std::string range_text(V lo, V hi, bool open_max = false) {
  return "[" + farbound::limit_text(lo) + ", " + farbound::limit_text(hi) + (open_max ? ")" : "]");
}

// An integer flag in [lo, hi]: the text must be a whole number written in decimal.
template <class I>
CLI::Validator integer_in(I lo, I hi) {
  const std::string range = range_text(lo, hi);
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        const char *first = text.data(), *last = text.data() + text.size();
        if (first != last && *first == '+') ++first;
        long double as_real = 0;
        I value{};
        const auto [end, ec] = std::from_chars(first, last, value);
        if (ec == std::errc() && end == last) {
          if (value < lo || value > hi) return text + " is outside " + range;
          return {};
        }
        // Not an I: a number out of I's range, a fraction, or no number at all.
        std::size_t used = 0;
        try {
          as_real = std::stold(text, &used);
        } catch (const std::exception&) {
          return "'" + text + "' is not a number";
        }
        if (used != text.size()) return "'" + text + "' is not a number";
        if (std::isfinite(as_real) && as_real == std::floor(as_real)) return text + " is outside " + range;
        return text + " is not a whole number (allowed: " + range + ")";
      },
      range, "integer_in");
}

// A real flag in [lo, hi] (or [lo, hi)): finite, written as a number.
inline CLI::Validator number_in(double lo, double hi, bool open_max = false) {
  const std::string range = range_text(lo, hi, open_max);
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        std::size_t used = 0;
        double value = 0;
        try {
          value = std::stod(text, &used);
        } catch (const std::out_of_range&) {
          return text + " is outside " + range;
        } catch (const std::exception&) {
          return "'" + text + "' is not a number";
        }
        if (used != text.size()) return "'" + text + "' is not a number";
        if (!(value >= lo && (open_max ? value < hi : value <= hi))) return text + " is outside " + range;
        return {};
      },
      range, "number_in");
}

// A count where -1 means "all": -1, or an integer in [lo, hi].
inline CLI::Validator count_or_all(std::int64_t lo, std::int64_t hi) {
  const CLI::Validator in_range = integer_in<std::int64_t>(lo, hi);
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        if (text == "-1") return {};
        std::string message = in_range(text);
        if (!message.empty()) message += " (or -1: all)";
        return message;
      },
      "-1 (all) or " + range_text(lo, hi), "count_or_all");
}

// The most OpenMP threads a tool starts; a larger --threads is capped with a warning (more
// threads than this only add start-up cost and memory per thread).
inline constexpr int max_threads = 256;

// Applies --threads (0: OpenMP's default), capping it at max_threads with a warning.
inline void apply_threads(int threads, const std::string& tool) {
  if (threads > max_threads) {
    std::fprintf(stderr, "%s: warning: --threads %d capped to %d\n", tool.c_str(), threads, max_threads);
    threads = max_threads;
  }
  if (threads > 0) farbound::set_threads(threads);
}

// OpenMP's threads wait for the next parallel loop by spinning (libgomp's default) unless
// OMP_WAIT_POLICY says otherwise. A model of LeNet's size runs a dozen short parallel loops per
// forward pass; on a machine shared with other processes a spinning thread holds the core its
// partner needs, and `farbound-eval --suite standard` on 100 images took 498 s instead of 16 s
// (docs/performance.md). The runtime reads the variable once, when it loads, so a tool that
// finds it unset sets it to passive and starts itself again, once; a value the user set stays.
inline void wait_passively(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  ::setenv("OMP_WAIT_POLICY", "passive", 1);
  ::execv("/proc/self/exe", argv);  // returns only when it fails: then the tool runs on as it is
}

// Whether this process can create a file in `dir`: it tries (access() says yes to root even
// on a read-only file system).
inline bool can_create_in(const std::filesystem::path& dir) {
  const std::filesystem::path probe = dir / (".farbound-probe-" + std::to_string(::getpid()));
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return false;
  ::close(fd);
  ::unlink(probe.c_str());
  return true;
}

// An output file named by `flag`: not a directory, in a directory that exists and that this
// process may write to. Checked before the work, so that a typo does not cost a run.
inline void check_output_file(const std::string& flag, const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (path.empty()) throw farbound::argument_error(flag + ": empty path");
  if (fs::is_directory(path, ec)) throw farbound::argument_error(flag + " " + path.string() + ": is a directory");
  const fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (!fs::is_directory(parent, ec))
    throw farbound::argument_error(flag + " " + path.string() + ": directory " + parent.string() + " does not exist");
  if (!can_create_in(parent))
    throw farbound::argument_error(flag + " " + path.string() + ": directory " + parent.string() + " is not writable");
  if (fs::exists(path, ec) && ::access(path.c_str(), W_OK) != 0)
    throw farbound::argument_error(flag + " " + path.string() + ": file is not writable");
}

// An output directory named by `flag`: an existing writable directory, or a new one whose
// nearest existing ancestor is a writable directory.
inline void check_output_dir(const std::string& flag, const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (dir.empty()) throw farbound::argument_error(flag + ": empty path");
  fs::path existing = fs::absolute(dir, ec).lexically_normal();
  while (!fs::exists(existing, ec) && existing.has_parent_path() && existing != existing.parent_path())
    existing = existing.parent_path();
  if (!fs::is_directory(existing, ec))
    throw farbound::argument_error(flag + " " + dir.string() + ": " + existing.string() + " is not a directory");
  if (!can_create_in(existing))
    throw farbound::argument_error(flag + " " + dir.string() + ": " + existing.string() + " is not writable");
}

// `option` was given although the mode it belongs to is off: a usage error, since the
// value would be ignored.
inline void require_mode(const CLI::App& app, const std::string& option, bool mode_on, const std::string& mode) {
  if (app.count(option) > 0 && !mode_on)
    throw farbound::argument_error(option + " has no effect without " + mode);
}

}  // namespace examples
