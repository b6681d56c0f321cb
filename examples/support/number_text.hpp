#pragma once
// Numbers as the examples' reports print them: a fixed count of decimals ("0.250") or of
// significant digits ("0.0123", "1e-05", "inf"), as printf's %.*f and %.*g do.
#include <cstdio>
#include <string>

namespace examples {

inline std::string fixed(double v, int decimals = 3) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

inline std::string significant(double v, int digits = 6) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

}  // namespace examples
