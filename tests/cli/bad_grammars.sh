# Every fixture in tests/fixtures/bad must fail to load with exit status 2, nothing on stdout, and
# the message given in its first line "# expect: LINE:COL: SUBSTRING".
. "$(dirname "$0")/lib.sh"

n=0
for f in "$SRC"/tests/fixtures/bad/*.yaml; do
    n=$((n + 1))
    expect=$(head -n 1 "$f" | sed -n 's/^# expect: //p')
    checks=$((checks + 1))
    if [ -z "$expect" ]; then
        fail "$(basename "$f") has no '# expect:' line"
        continue
    fi
    pos=${expect%%: *}
    msg=${expect#*: }
    for cmd in check count accepts; do
        run "$cmd" "$f" </dev/null
        expect_rc 2 "$(basename "$f") ($cmd)"
        expect_empty_out "$(basename "$f") ($cmd)"
        expect_err_has "$f:$pos: " "$(basename "$f") position"
        expect_err_has "$msg" "$(basename "$f") message"
    done
done
checks=$((checks + 1))
[ "$n" -ge 30 ] || fail "only $n bad-grammar fixtures"
finish
