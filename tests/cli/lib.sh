# Shared helpers for the end-to-end tests: each test script sources this, runs the real CLI and
# calls expect_* ; the script fails if any expectation failed.
# Usage in meson: bash tests/cli/X.sh SATPROBE_BINARY SOURCE_DIR
set -u
SATPROBE=$1
SRC=$2
G=$SRC/grammars
failures=0
checks=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# run ARGS... : runs satprobe, stdout to $tmp/out, stderr to $tmp/err, status in $rc.
run() {
    "$SATPROBE" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}

# run_in INPUT ARGS... : like run, with INPUT (printf %b) on stdin.
run_in() {
    local input=$1
    shift
    printf '%b' "$input" | "$SATPROBE" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}

expect_rc() {
    checks=$((checks + 1))
    [ "$rc" -eq "$1" ] || fail "$2: exit status $rc, expected $1; stderr: $(head -c 400 "$tmp/err")"
}

expect_out() {
    checks=$((checks + 1))
    local got
    got=$(cat "$tmp/out")
    [ "$got" = "$(printf '%b' "$1")" ] || fail "$2: stdout was [$got], expected [$(printf '%b' "$1")]"
}

expect_empty_out() {
    checks=$((checks + 1))
    [ ! -s "$tmp/out" ] || fail "$1: stdout should be empty, was [$(head -c 200 "$tmp/out")]"
}

expect_err_has() {
    checks=$((checks + 1))
    grep -qF -- "$1" "$tmp/err" || fail "$2: stderr lacks [$1]; it was [$(head -c 400 "$tmp/err")]"
}

expect_out_has() {
    checks=$((checks + 1))
    grep -qF -- "$1" "$tmp/out" || fail "$2: stdout lacks [$1]; it was [$(head -c 400 "$tmp/out")]"
}

finish() {
    echo "$checks checks, $failures failed"
    [ "$failures" -eq 0 ]
    exit $?
}
