#pragma once
// Short number formatting for layer descriptions: "0.01", "1e-05", "20" (printf's %g),
// where std::to_string would print "0.010000".
#include <cstdio>
#include <string>

namespace farbound::detail {

inline std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace farbound::detail
