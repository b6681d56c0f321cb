#pragma once
// What every farbound example does the same way: parse flags with CLI11, and turn errors
// into messages and exit codes (docs/cli.md):
//   0  done, or --help
//   2  usage: a bad flag, value, combination of flags or --config setting, an output path
//      that cannot be written, a checkpoint that does not match the run (argument_error)
//   1  runtime: an unreadable or malformed input file, a diverged run, anything else that
//      fails while working (io_error, numeric_error, ...)
#include <cstdio>
#include <exception>
#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "farbound/core/error.hpp"

namespace examples {

inline int run(CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: %s\n\n%s", app.get_name().c_str(), e.what(), app.help().c_str());
    return 2;
  }
  try {
    return body();
  } catch (const farbound::argument_error& e) {
    std::fprintf(stderr, "%s: %s\n", app.get_name().c_str(), e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", app.get_name().c_str(), e.what());
    return 1;
  }
}

}  // namespace examples
