#!/usr/bin/env bash
# run.sh SOURCE_DIR WORK_DIR: every ```cpp block of README.md and docs/*.md is compiled
# against farbound (a consumer project that adds the checkout with add_subdirectory), and
# every block with a main() is run and must exit 0, so the manual cannot rot. A block that
# is a piece of a larger program says so in its fence: ```cpp fragment (not compiled).
set -euo pipefail
src=$1 work=$2
rm -rf "$work"
mkdir -p "$work/snippets"

compiled=0 fragments=0
for md in "$src"/README.md "$src"/docs/*.md; do
  name=$(basename "$md" .md | tr -c 'A-Za-z0-9\n' '_')
  # Blocks numbered in order; fragments counted, the rest written out as name_N.cpp.
  read -r c f < <(awk -v dir="$work/snippets" -v name="$name" -v md="$md" '
    /^```cpp fragment[ \t]*$/ { inside = 0; skip = 1; ++fragments; next }
    /^```cpp[ \t]*$/ { inside = 1; ++n; file = sprintf("%s/%s_%d.cpp", dir, name, n);
                       printf "// %s, block %d\n", md, n > file; next }
    /^```/ { if (inside) close(file); inside = 0; skip = 0; next }
    inside { print > file }
    END { print n + 0, fragments + 0 }' "$md")
  compiled=$((compiled + c)) fragments=$((fragments + f))
done
echo "docs snippets: $compiled to compile, $fragments fragment(s) skipped"
[[ $compiled -gt 0 ]] || { echo "no snippets found under $src" >&2; exit 1; }

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$src/tests/docs" -B "$work/build" -DFARBOUND_DIR="$src" -DSNIPPET_DIR="$work/snippets" \
  -DFARBOUND_CUDA=OFF -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >"$work/configure.log" ||
  { cat "$work/configure.log"; exit 1; }
cmake --build "$work/build" -j2
for exe in "$work"/build/snippet_*; do
  [[ -x $exe && -f $exe ]] || continue
  echo "== $(basename "$exe")"
  "$exe"
done
