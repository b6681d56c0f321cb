#!/usr/bin/env bash
# run.sh SOURCE_DIR WORK_DIR: builds the API reference (docs/Doxyfile) and fails on any
# Doxygen warning: a public class, function or member without a doc comment, or a comment
# Doxygen cannot read. Exit 77 (skipped) without doxygen.
set -euo pipefail
src=$1 work=$2
command -v doxygen >/dev/null || { echo "doxygen skipped: no doxygen on PATH"; exit 77; }
rm -rf "$work"
mkdir -p "$work"
cd "$src"
FARBOUND_DOXYGEN_OUT="$work" doxygen docs/Doxyfile >"$work/stdout" 2>&1 || { cat "$work/stdout"; exit 1; }
# "include/farbound/x.hpp:<line>: <message>", relative to the source tree.
sed -E -e "s|^$src/||" "$work/warnings.txt" | grep -v '^$' >"$work/found.txt" || true
echo "doxygen: $(wc -l <"$work/found.txt") warning(s); HTML in $work/html"
if [[ -s $work/found.txt ]]; then
  echo "Not documented (add a // comment above it) or not readable by Doxygen:"
  cat "$work/found.txt"
  exit 1
fi
