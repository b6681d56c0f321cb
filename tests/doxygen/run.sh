#!/usr/bin/env bash
# run.sh SOURCE_DIR WORK_DIR: builds the API reference (docs/Doxyfile) and fails on any
# Doxygen warning that tests/doxygen/undocumented.txt does not list: a public class,
# function or member without a doc comment, or a comment Doxygen cannot read. The list is
# what was undocumented when the check arrived; it may only shrink: an entry that no longer
# warns fails too (delete it). Exit 77 (skipped) without doxygen.
set -euo pipefail
src=$1 work=$2
command -v doxygen >/dev/null || { echo "doxygen skipped: no doxygen on PATH"; exit 77; }
rm -rf "$work"
mkdir -p "$work"
cd "$src"
FARBOUND_DOXYGEN_OUT="$work" doxygen docs/Doxyfile >"$work/stdout" 2>&1 || { cat "$work/stdout"; exit 1; }
# "include/farbound/x.hpp: <message>": no absolute path, no line number (lines move).
sed -E -e "s|^$src/||" -e 's|^([^:]+):[0-9]+: warning: |\1: |' "$work/warnings.txt" | grep -v '^$' | sort -u \
  >"$work/found.txt" || true
known=tests/doxygen/undocumented.txt
new=$(comm -23 "$work/found.txt" <(sort -u "$known"))
gone=$(comm -13 "$work/found.txt" <(sort -u "$known"))
echo "doxygen: $(wc -l <"$work/found.txt") warning(s), $(wc -l <"$known") listed in $known; HTML in $work/html"
status=0
if [[ -n $new ]]; then
  echo "Not documented (add a // comment above it) or not readable by Doxygen:"
  echo "$new"
  status=1
fi
if [[ -n $gone ]]; then
  echo "Documented now: delete these lines from $known:"
  echo "$gone"
  status=1
fi
exit $status
