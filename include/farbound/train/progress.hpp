#pragma once
// A progress bar for terminals: redrawn in place on a TTY, silent otherwise (where a log
// should get one plain line per epoch instead, which the caller prints).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>

#include <unistd.h>

namespace farbound {

// A progress bar on a terminal, plain lines otherwise.
class ProgressBar {
 public:
  // A bar on `out`, redrawn in place when `out` is a terminal.
  explicit ProgressBar(std::FILE* out = stderr) : out_(out), tty_(isatty(fileno(out)) != 0) {}

  // Draws "label [#####     ] done/total  suffix", at most ~20 times per bar.
  void update(const std::string& label, std::int64_t done, std::int64_t total, const std::string& suffix = "") {
    if (!tty_ || total <= 0) return;
    const std::int64_t stride = std::max<std::int64_t>(1, total / 20);
    if (done != total && done % stride != 0) return;
    constexpr int width = 30;
    const int filled = int(width * done / total);
    std::fprintf(out_, "\r%s [%s%s] %lld/%lld %s\033[K", label.c_str(), std::string(std::size_t(filled), '#').c_str(),
                 std::string(std::size_t(width - filled), ' ').c_str(), static_cast<long long>(done),
                 static_cast<long long>(total), suffix.c_str());
    std::fflush(out_);
  }
  // Clears the bar's line so the next output starts clean.
  void clear() {
    if (!tty_) return;
    std::fprintf(out_, "\r\033[K");
    std::fflush(out_);
  }

 private:
  std::FILE* out_;
  bool tty_;
};

}  // namespace farbound
