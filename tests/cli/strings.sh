# satprobe accepts, next and sample on real grammar files.
. "$(dirname "$0")/lib.sh"

run_in '( )\n) (\n\n( ( ) ( ) )\n(\n' accepts "$G/dyck-1.yaml"
expect_rc 0 "accepts dyck-1"
expect_out "1\n0\n1\n1\n0" "accepts dyck-1"

run_in '( [ ] )\n( [ ) ]\n' accepts "$G/dyck-2.yaml"
expect_out "1\n0" "accepts dyck-2"

run_in '( )\n( x\n' accepts "$G/dyck-1.yaml"
expect_rc 2 "unknown symbol"
expect_empty_out "unknown symbol"
expect_err_has "<stdin>:2:3: 'x' is not a symbol of dyck-1" "unknown symbol"

run_in '(  )\n' accepts "$G/dyck-1.yaml"
expect_rc 2 "double space"
expect_err_has "<stdin>:1:3:" "double space"

run_in '\n(\n( )\n)\n' next "$G/dyck-1.yaml"
expect_rc 0 "next dyck-1"
expect_out "( \$\n( )\n( \$\n" "next dyck-1"

run_in '( [\n' next "$G/dyck-2.yaml"
expect_out "( [ ]" "next dyck-2"

run sample "$G/dyck-2.yaml" --length 20 -n 50 --seed 7
expect_rc 0 "sample"
cp "$tmp/out" "$tmp/s1"
expect_err_has "seed 7" "sample echoes the seed"
run sample "$G/dyck-2.yaml" --length 20 -n 50 --seed 7
checks=$((checks + 1))
cmp -s "$tmp/out" "$tmp/s1" || fail "same seed gives different samples"
run sample "$G/dyck-2.yaml" --length 20 -n 50 --seed 8
checks=$((checks + 1))
cmp -s "$tmp/out" "$tmp/s1" && fail "different seeds give the same samples"
checks=$((checks + 1))
[ "$(wc -l <"$tmp/s1")" -eq 50 ] || fail "sample -n 50 printed $(wc -l <"$tmp/s1") lines"
"$SATPROBE" accepts "$G/dyck-2.yaml" <"$tmp/s1" >"$tmp/acc"
checks=$((checks + 1))
[ "$(sort -u "$tmp/acc")" = "1" ] || fail "samples are not all members"
checks=$((checks + 1))
[ "$(awk '{print NF}' "$tmp/s1" | sort -u)" = "20" ] || fail "samples are not of length 20"

run sample "$G/dyck-1.yaml" --length 7
expect_rc 2 "no strings of odd length"
expect_empty_out "no strings of odd length"
expect_err_has "has no strings of length 7" "no strings of odd length"

run sample "$G/dyck-1.yaml"
expect_rc 2 "missing --length"
expect_err_has "--length is required" "missing --length"

for f in "$G"/*.yaml; do
    run sample "$f" --length 30 -n 5 --seed 3
    [ "$rc" -eq 0 ] || continue # some languages have no strings of length 30
    "$SATPROBE" accepts "$f" <"$tmp/out" >"$tmp/acc"
    checks=$((checks + 1))
    [ "$(sort -u "$tmp/acc")" = "1" ] || fail "$(basename "$f"): samples at 30 rejected by accepts"
done
finish
