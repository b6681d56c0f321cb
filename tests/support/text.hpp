#pragma once
// Counting in generated text (SVG documents, tables).
#include <cstddef>
#include <string>

namespace farbound::testing {

// How many times `what` occurs in s, overlapping occurrences included.
inline std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

}  // namespace farbound::testing
