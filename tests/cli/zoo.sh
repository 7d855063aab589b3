# satprobe langs and satprobe check over the whole zoo.
. "$(dirname "$0")/lib.sh"

nfiles=$(ls "$G"/*.yaml | wc -l)
run langs --tsv
expect_rc 0 "langs"
checks=$((checks + 1))
[ "$(($(wc -l <"$tmp/out") - 1))" -eq "$nfiles" ] || fail "langs lists $(($(wc -l <"$tmp/out") - 1)) of $nfiles languages"
expect_out_has "dyck-1	dyck	counter	42	" "langs dyck-1 row"

checks=$((checks + 1))
cmp -s "$tmp/out" "$SRC/results/langs.tsv" || fail "results/langs.tsv is stale: run scripts/run main"

run langs
expect_rc 0 "langs table"
expect_out_has "name" "langs header"

SATPROBE_GRAMMARS=$tmp/none run langs
expect_rc 2 "langs on an empty directory"

run check --quiet "$G"/*.yaml
expect_rc 0 "check the zoo"
checks=$((checks + 1))
[ "$(grep -c '^ok ' "$tmp/out")" -eq "$nfiles" ] || fail "check: not every zoo language passed: $(grep -v '^ok ' "$tmp/out" | head -5)"

run check "$G/dyck-2.yaml"
expect_rc 0 "check verbose"
expect_out_has "counts 0-20: 1 0 2 0 8 0 40" "check prints counts"
expect_out_has "uniformity: chi-square p =" "check runs the chi-square test"
finish
