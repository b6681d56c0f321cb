#pragma once
// The exceptions farbound throws. Every message says what went wrong and where
// (file and byte offset, shapes, flag names), so a user can act on it.
#include <stdexcept>
#include <string>

namespace farbound {

// Base of everything farbound throws.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Tensor shapes that do not fit together (the message names both shapes).
class shape_error : public error {
 public:
  using error::error;
};

// Unreadable, truncated or malformed files; the message names the file and byte offset.
class io_error : public error {
 public:
  using error::error;
};

// A bad argument or configuration value (negative stride, sigma < 0, unknown name, ...).
class argument_error : public error {
 public:
  using error::error;
};

// NaN or Inf where a finite number is required (a diverging loss, a bad gradient).
class numeric_error : public error {
 public:
  using error::error;
};

}  // namespace farbound
