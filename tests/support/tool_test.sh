# The start every test script of the built tools shares (cli/run.sh, mpi/train.sh,
# sweep/run.sh), sourced with the script's arguments: $bin is BIN_DIR ($1) made absolute, the
# script runs in a fresh temporary directory removed on exit, and `fail MESSAGE` reports a
# failed check and counts it in $failures, from which the script sets its exit code.
set -uo pipefail
bin=$(cd "${1:?usage: $0 BIN_DIR}" && pwd) || exit 2  # else every check would fail on a missing tool
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
