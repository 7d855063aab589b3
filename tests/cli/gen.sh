# satprobe gen end to end: files, labels checked by `satprobe accepts`, balance, repeats,
# train/test disjointness, determinism, FLaRe, small languages, and every kind of bad input
# (exit 2, nothing on stdout, no output directory and no temporary directory left).
. "$(dirname "$0")/lib.sh"

D=$tmp/d
SMALL=(--train 600 --per-bin 200 --train-lengths 1:20 --test-bins 1:20,21:30,31:40)

# Strings of a JSONL file, one per line (the zoo's bracket symbols need no JSON escapes).
strings() { sed -E 's/^\{"string": "([^"]*)".*/\1/' "$1"; }
labels() { grep -oE '"label": (true|false)' "$1" | sed -e 's/.*true/1/' -e 's/.*false/0/'; }

# Nothing left beside the target: no DIR.tmp-* or DIR.old-*.
expect_no_leftovers() {
    checks=$((checks + 1))
    if ls -A "$tmp" | grep -q -e '\.tmp-' -e '\.old-'; then fail "$1: a temporary directory was left in $tmp"; fi
}

expect_bad() { # DESCRIPTION NEEDLE ARGS...
    local what=$1 needle=$2
    shift 2
    rm -rf "$D"
    run gen "$@"
    expect_rc 2 "$what"
    expect_empty_out "$what"
    expect_err_has "$needle" "$what"
    checks=$((checks + 1))
    [ ! -e "$D" ] || fail "$what: $D was created"
    expect_no_leftovers "$what"
}

run gen "$G/dyck-2.yaml" -o "$D" "${SMALL[@]}" --seed 5
expect_rc 0 "gen dyck-2"
expect_empty_out "gen dyck-2"
expect_err_has "dyck-2, seed 5: 1200 strings in 4 splits written to" "gen dyck-2"
for f in manifest.json train.jsonl test-1-20.jsonl test-21-30.jsonl test-31-40.jsonl; do
    checks=$((checks + 1))
    [ -s "$D/$f" ] || fail "gen dyck-2: $f missing"
done
expect_no_leftovers "gen dyck-2"
checks=$((checks + 1))
grep -q "\"sha256\": \"$(sha256sum "$G/dyck-2.yaml" | cut -d' ' -f1)\"" "$D/manifest.json" ||
    fail "manifest: the grammar's SHA-256 differs from sha256sum's"

for f in "$D"/*.jsonl; do
    name=$(basename "$f")
    strings "$f" >"$tmp/s"
    labels "$f" >"$tmp/l"
    "$SATPROBE" accepts "$G/dyck-2.yaml" <"$tmp/s" >"$tmp/a"
    checks=$((checks + 1))
    cmp -s "$tmp/a" "$tmp/l" || fail "$name: a label differs from satprobe accepts"
    checks=$((checks + 1))
    [ -z "$(sort "$tmp/s" | uniq -d)" ] || fail "$name: a string occurs twice"
    # per length: the number of 1s equals the number of 0s
    checks=$((checks + 1))
    paste -d' ' <(awk '{print NF}' "$tmp/s") "$tmp/l" |
        awk '{c[$1] += $2 ? 1 : -1} END {for (n in c) if (c[n]) exit 1}' || fail "$name: unbalanced at some length"
done
strings "$D/train.jsonl" | sort >"$tmp/train"
for f in "$D"/test-*.jsonl; do
    checks=$((checks + 1))
    [ -z "$(strings "$f" | sort | comm -12 - "$tmp/train")" ] || fail "$(basename "$f") shares strings with train"
done

# Same options and seed: identical files; another seed: different ones.
cp -r "$D" "$tmp/first"
rm -rf "$D"
run gen "$G/dyck-2.yaml" -o "$D" "${SMALL[@]}" --seed 5
checks=$((checks + 1))
diff -r -q "$tmp/first" "$D" >/dev/null || fail "two runs with seed 5 differ"
run gen "$G/dyck-2.yaml" -o "$D" "${SMALL[@]}" --seed 6 --force
expect_rc 0 "--force"
checks=$((checks + 1))
cmp -s "$tmp/first/train.jsonl" "$D/train.jsonl" && fail "seeds 5 and 6 give the same train split"
expect_no_leftovers "--force"

# FLaRe: labels.txt equals what satprobe accepts says of main.tok, split by split.
rm -rf "$D"
run gen "$G/tomita-3.yaml" -o "$D" "${SMALL[@]}" --format flare --task recognize
expect_rc 0 "flare"
for dir in "$D" "$D/datasets/test-1-20" "$D/datasets/test-21-30" "$D/datasets/test-31-40"; do
    "$SATPROBE" accepts "$G/tomita-3.yaml" <"$dir/main.tok" >"$tmp/a"
    checks=$((checks + 1))
    cmp -s "$tmp/a" "$dir/labels.txt" || fail "flare: labels.txt of $dir differs from satprobe accepts"
    checks=$((checks + 1))
    [ "$(grep -c '^0$' "$dir/labels.txt")" -eq "$(wc -l <"$dir/num-edits.txt")" ] ||
        fail "flare: num-edits.txt needs one line per negative in $dir"
    checks=$((checks + 1))
    [ ! -e "$dir/next-symbols.jsonl" ] || fail "flare --task recognize wrote next-symbols.jsonl"
done

# Next-symbol sets: the first set of a Dyck-2 positive allows the two opening brackets only.
rm -rf "$D"
run gen "$G/dyck-2.yaml" -o "$D" "${SMALL[@]}" --task predict --train 301
expect_rc 0 "predict"
checks=$((checks + 1))
[ "$(wc -l <"$D/train.jsonl")" -eq 301 ] || fail "predict: expected 301 lines"
checks=$((checks + 1))
grep -v -q '"label": true, "edits": null, "next": \[\["(", "\["\]' "$D/train.jsonl" &&
    fail "predict: a line without the first next-symbol set [\"(\", \"[\"]"

# Small languages: everything there is, with warnings on stderr and in the manifest.
rm -rf "$D"
run gen "$G/anbncn.yaml" -o "$D" --train 1000 --per-bin 100
expect_rc 0 "anbncn"
expect_err_has "warning: train: 32 strings instead of 1000" "anbncn"
expect_err_has "warning: test-1-50: lengths 3, 6, 9" "anbncn"
checks=$((checks + 1))
grep -q '"shortfall": 968' "$D/manifest.json" || fail "anbncn: manifest lacks the shortfall"
rm -rf "$D"
run gen "$G/aa-star.yaml" -o "$D" --train 1000 --per-bin 100
expect_rc 0 "aa-star"
expect_err_has "dropped: every string of this length is a member" "aa-star"
checks=$((checks + 1))
[ ! -s "$D/train.jsonl" ] || fail "aa-star: train should be empty"

# Bad input.
rm -rf "$D"
expect_bad "inverted range" "inverted" "$G/dyck-1.yaml" -o "$D" --train-lengths 9:3
expect_bad "inverted bin" "inverted" "$G/dyck-1.yaml" -o "$D" --test-bins 1:50,100:51
expect_bad "empty range" "expected A:B" "$G/dyck-1.yaml" -o "$D" --train-lengths ""
expect_bad "empty bins" "expected A:B" "$G/dyck-1.yaml" -o "$D" --test-bins ""
expect_bad "half a range" "expected A:B" "$G/dyck-1.yaml" -o "$D" --train-lengths 5:
expect_bad "bin without strings" "no strings of lengths 7 to 7" "$G/dyck-1.yaml" -o "$D" --test-bins 7:7
expect_bad "train lengths without strings" "no strings of lengths 1 to 1" "$G/dyck-1.yaml" -o "$D" --train-lengths 1:1
expect_bad "overlapping bins" "overlap" "$G/dyck-1.yaml" -o "$D" --test-bins 1:50,40:60
expect_bad "unknown format" "--format must be one of jsonl, flare, not 'csv'" "$G/dyck-1.yaml" -o "$D" --format csv
expect_bad "unknown task" "--task must be one of recognize, predict, both" "$G/dyck-1.yaml" -o "$D" --task guess
expect_bad "unknown length distribution" "--length-dist must be one of" "$G/dyck-1.yaml" -o "$D" --length-dist zipf
expect_bad "non-numeric --train" "--train needs a non-negative integer, not 'ten'" "$G/dyck-1.yaml" -o "$D" --train ten
expect_bad "non-numeric --per-bin" "--per-bin needs a non-negative integer" "$G/dyck-1.yaml" -o "$D" --per-bin 1e3
expect_bad "negative --train" "--train needs a non-negative integer" "$G/dyck-1.yaml" -o "$D" --train -4
expect_bad "non-numeric --seed" "--seed needs a non-negative integer" "$G/dyck-1.yaml" -o "$D" --seed x
expect_bad "zero --train" "between 1 and" "$G/dyck-1.yaml" -o "$D" --train 0
expect_bad "odd --train" "must be even" "$G/dyck-1.yaml" -o "$D" --train 999
expect_bad "--near-miss out of range" "--near-miss needs a number between 0 and 1" "$G/dyck-1.yaml" -o "$D" --near-miss 1.5
expect_bad "--near-miss not a number" "--near-miss needs a number between 0 and 1, not 'half'" "$G/dyck-1.yaml" -o "$D" --near-miss half
expect_bad "no -o" "-o DIR is required" "$G/dyck-1.yaml"
expect_bad "no grammar" "needs exactly one grammar file" -o "$D"
expect_bad "missing grammar file" "cannot open" "$G/no-such-language.yaml" -o "$D"
expect_bad "bad grammar" "common-empty-file.yaml:1:1" "$SRC/tests/fixtures/bad/common-empty-file.yaml" -o "$D"
expect_bad "unknown option" "usage: satprobe gen" "$G/dyck-1.yaml" -o "$D" --frobnicate
expect_bad "unwritable output directory" "cannot create a directory in /proc" "$G/dyck-1.yaml" -o /proc/satprobe-test-out
expect_bad "missing parent directory" "cannot create a directory in $tmp/no/such" "$G/dyck-1.yaml" -o "$tmp/no/such/dir"

# An existing DIR needs --force, and --force replaces only a dataset or an empty directory.
mkdir "$D"
echo keep >"$D/notes.txt"
run gen "$G/dyck-1.yaml" -o "$D" --train 100 --per-bin 100
expect_rc 2 "existing DIR"
expect_empty_out "existing DIR"
expect_err_has "already exists (use --force to replace it)" "existing DIR"
run gen "$G/dyck-1.yaml" -o "$D" --train 100 --per-bin 100 --force
expect_rc 2 "--force on a directory that is not a dataset"
expect_err_has "neither empty nor a dataset" "--force on a directory that is not a dataset"
checks=$((checks + 1))
[ "$(cat "$D/notes.txt")" = keep ] || fail "--force touched a directory that is not a dataset"
expect_no_leftovers "existing DIR"
finish
