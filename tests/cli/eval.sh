# satprobe init, eval, heads and saturation end to end on real grammar files and datasets:
# outputs and their formats, determinism, predictions and attention dumps, the data forms
# --data takes, constructions, and every kind of bad input (exit 2, nothing on stdout, no
# half-written file).
. "$(dirname "$0")/lib.sh"

D=$tmp/data
M=$tmp/m.safetensors
CFG=$tmp/cfg.yaml
printf 'd_model: 16\nlayers: 2\nheads: 2\nd_ff: 32\npos: [learned, i/n]\nmax_len: 64\n' >"$CFG"

"$SATPROBE" gen "$G/dyck-1.yaml" -o "$D" --train 100 --per-bin 60 --train-lengths 1:20 \
    --test-bins 1:20,21:40 --seed 3 2>/dev/null || fail "gen"

# --- init ---
run init --lang "$G/dyck-1.yaml" --config "$CFG" --seed 4 -o "$M"
expect_rc 0 "init"
expect_empty_out "init"
expect_err_has "wrote $M" "init"
cp "$M" "$tmp/first.safetensors"
run init --lang "$G/dyck-1.yaml" --config "$CFG" --seed 4 -o "$M"
expect_rc 2 "init over an existing file"
expect_err_has "use --force" "init over an existing file"
run init --lang "$G/dyck-1.yaml" --config "$CFG" --seed 4 -o "$M" --force
expect_rc 0 "init --force"
checks=$((checks + 1))
cmp -s "$M" "$tmp/first.safetensors" || fail "init: the same seed gave different files"
run init --lang "$G/dyck-1.yaml" --config "$CFG" --seed 5 -o "$tmp/other.safetensors"
checks=$((checks + 1))
! cmp -s "$M" "$tmp/other.safetensors" || fail "init: another seed gave the same file"
run init --lang "$G/dyck-1.yaml" -o "$tmp/default.safetensors"
expect_rc 0 "init with the default config"

# --- eval on a dataset ---
run eval --model "$M" --data "$D"
expect_rc 0 "eval --data DIR"
expect_out_has "test-1-20" "eval --data DIR"
expect_out_has "test-21-40" "eval --data DIR"
expect_out_has "saturated" "eval --data DIR"
cp "$tmp/out" "$tmp/table1"
run eval --model "$M" --data "$D"
checks=$((checks + 1))
cmp -s "$tmp/out" "$tmp/table1" || fail "eval: two runs differ"
run eval --model "$M" --data "$D/test-21-40.jsonl" --json --mode soft --mode scaled:100 --mode limit
expect_rc 0 "eval --data FILE --json"
checks=$((checks + 1))
/usr/bin/python3 - "$tmp/out" <<'EOF' || fail "eval --json: wrong content"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["modes"] == ["soft", "scaled:100", "limit"], d["modes"]
assert len(d["bins"]) == 1 and d["bins"][0]["name"] == "test-21-40", d["bins"]
b = d["bins"][0]
assert b["n"] == 60 and b["positives"] == 30, b
for m in d["modes"]:
    assert 0 <= b["correct"][m] <= b["n"]
    assert abs(b["accuracy"][m] - b["correct"][m] / b["n"]) < 1e-12
EOF
run eval --model "$M" --data "$D" --bins 1:10,11:40 --json
expect_rc 0 "eval --bins"
checks=$((checks + 1))
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert [b["name"] for b in d["bins"]]==["1-10","11-40"]; assert sum(b["n"] for b in d["bins"])==120' "$tmp/out" ||
    fail "eval --bins: bins wrong"

# predictions: one line per string, a logit per mode, the same decisions as the table counts
run eval --model "$M" --data "$D/test-1-20.jsonl" --mode soft --mode hard --predictions "$tmp/p.jsonl" --json
expect_rc 0 "eval --predictions"
checks=$((checks + 1))
/usr/bin/python3 - "$tmp/p.jsonl" "$tmp/out" <<'EOF' || fail "predictions disagree with the table"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
table = json.load(open(sys.argv[2]))
assert len(lines) == 60, len(lines)
for mode in ("soft", "hard"):
    correct = sum((l["logit"][mode] > 0) == l["label"] for l in lines)
    assert correct == table["bins"][0]["correct"][mode], (mode, correct)
assert all(len(l["string"].split()) == l["length"] for l in lines if l["length"])
EOF

# attention dump: rows sum to 1 over visible keys, causal rows see no future
run eval --model "$M" --data "$D/test-1-20.jsonl" --mode soft --mode saturated --attention "$tmp/a.jsonl" --attention-count 3
expect_rc 0 "eval --attention"
checks=$((checks + 1))
/usr/bin/python3 - "$tmp/a.jsonl" <<'EOF' || fail "attention dump wrong"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 3 * 2 * 2 * 2, len(rows)  # strings x modes x layers x heads
for r in rows:
    w = r["weights"]
    T = len(r["tokens"])
    assert len(w) == T and r["tokens"][0] == "<bos>" and r["tokens"][-1] == "<cls>"
    for i, row in enumerate(w):
        assert abs(sum(row) - 1) < 1e-5, row
        assert all(x == 0 for x in row[i + 1:]), "a causal head looked ahead"
EOF

# chosen strings: every mode, layer and head of each, the empty string included
run eval --model "$M" --data "$D/test-1-20.jsonl" --mode soft --mode hard --attention "$tmp/c.jsonl" --attention-string "( ( ) )" --attention-string ""
expect_rc 0 "eval --attention-string"
checks=$((checks + 1))
/usr/bin/python3 - "$tmp/c.jsonl" <<'EOF' || fail "--attention-string dump wrong"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["string"] for r in rows] == ["( ( ) )"] * 4 + [""] * 4 + ["( ( ) )"] * 4 + [""] * 4, [r["string"] for r in rows]
assert rows[0]["tokens"] == ["<bos>", "(", "(", ")", ")", "<cls>"] and rows[4]["tokens"] == ["<bos>", "<cls>"]
hard = [r for r in rows if r["mode"] == "hard"]
assert all(sorted(set(x for row in r["weights"] for x in row)) in ([0, 1], [1]) for r in hard)
EOF

# --- eval on a language built in memory ---
run eval --model "$M" --lang "$G/dyck-1.yaml" --exhaustive 6 --lengths 10,33 --per-length 20
expect_rc 0 "eval --lang"
expect_out_has "0-6" "eval --lang"
expect_out_has "34 (for 33)" "eval --lang: odd length replaced"
expect_out_has "every string of length 0-6" "eval --lang"

# --- heads and saturation ---
run heads --model "$M" --data "$D"
expect_rc 0 "heads"
expect_out_has "mean attended" "heads"
checks=$((checks + 1))
[ "$(grep -cE '^ +[01] +[01] ' "$tmp/out")" -eq 4 ] || fail "heads: expected 4 head rows: $(cat "$tmp/out")"
run heads --model "$M" --data "$D" --json --scale 10
expect_rc 0 "heads --json"
checks=$((checks + 1))
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); h=d["heads"]; assert len(h)==4 and d["scale"]==10; assert all(1<=x["mean_attended"]<=x["mean_visible"] and x["label"] in ("argmax-like","mean-like","intermediate") for x in h)' "$tmp/out" ||
    fail "heads --json"
run saturation --model "$M" --data "$D" --json
expect_rc 0 "saturation"
checks=$((checks + 1))
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["layers"])==2 and all(-1<=x<=1 for x in d["layers"]+[d["output"]])' "$tmp/out" ||
    fail "saturation --json"

# --- predict heads on a next-symbol dataset ---
printf 'd_model: 8\nlayers: 1\nheads: 2\nheads_out: both\n' >"$tmp/both.yaml"
run init --lang "$G/dyck-1.yaml" --config "$tmp/both.yaml" -o "$tmp/both.safetensors"
run eval --model "$tmp/both.safetensors" --data "$D/test-1-20.jsonl" --task predict --predictions "$tmp/pn.jsonl"
expect_rc 0 "eval --task predict"
expect_out_has "task   predict" "eval --task predict"
checks=$((checks + 1))
/usr/bin/python3 -c 'import json,sys; ls=[json.loads(l) for l in open(sys.argv[1])]; assert len(ls)==30 and all(len(l["next_logits"]["soft"])==l["length"]+1 and len(l["next_logits"]["soft"][0])==3 for l in ls)' "$tmp/pn.jsonl" ||
    fail "predict predictions"

# --- bad input: exit 2, nothing on stdout, no output file ---
expect_bad() { # DESCRIPTION NEEDLE ARGS...
    local what=$1 needle=$2
    shift 2
    rm -f "$tmp/never.jsonl"
    run "$@"
    expect_rc 2 "$what"
    expect_empty_out "$what"
    expect_err_has "$needle" "$what"
    checks=$((checks + 1))
    [ ! -e "$tmp/never.jsonl" ] || fail "$what: an output file was left"
    checks=$((checks + 1))
    ! ls -A "$tmp" | grep -q '\.tmp-' || fail "$what: a temporary file was left"
}
expect_bad "eval without --model" "needs --model" eval --data "$D"
expect_bad "eval without data" "needs --data PATH or --lang" eval --model "$M"
expect_bad "eval --data and --lang" "not both" eval --model "$M" --data "$D" --lang "$G/dyck-1.yaml"
expect_bad "eval with a bad mode" "unknown mode 'argmax'" eval --model "$M" --data "$D" --mode argmax
expect_bad "eval with scaled:0" "scaled:C" eval --model "$M" --data "$D" --mode scaled:0
expect_bad "eval with a mode twice" "given twice" eval --model "$M" --data "$D" --mode soft --mode soft
expect_bad "eval with a missing model" "cannot open" eval --model "$tmp/none.safetensors" --data "$D"
expect_bad "eval with a non-dataset" "is not a dataset directory" eval --model "$M" --data "$tmp"
expect_bad "eval on another alphabet" "another alphabet than the model's" eval --model "$M" --lang "$G/parity.yaml"
expect_bad "eval predict on a recognize model" "next-symbol head" eval --model "$M" --data "$D" --task predict
expect_bad "eval with strings too long" "the model takes at most 62" eval --model "$M" --lang "$G/dyck-1.yaml" --lengths 100 --exhaustive none --predictions "$tmp/never.jsonl"
expect_bad "eval --exhaustive too large" "lower the exhaustive length" eval --model "$M" --lang "$G/dyck-1.yaml" --exhaustive 40
expect_bad "eval with bad --bins" "--bins" eval --model "$M" --data "$D" --bins 5:1
expect_bad "eval with a negative tolerance" "--tie-tolerance" eval --model "$M" --data "$D" --tie-tolerance -1
expect_bad "eval --attention-string without --attention" "needs --attention" eval --model "$M" --data "$D" --attention-string "("
expect_bad "eval --attention-string off the alphabet" "not a symbol of the model's alphabet at column 3" eval --model "$M" --data "$D" --attention "$tmp/never.jsonl" --attention-string "( x"
expect_bad "heads with a bad scale" "--scale" heads --model "$M" --data "$D" --scale 0
expect_bad "init without -o" "needs -o" init --lang "$G/dyck-1.yaml"
expect_bad "init with an alphabet in the config" "leave it out" init --lang "$G/dyck-1.yaml" --config <(printf 'alphabet: [a]\n') -o "$tmp/never.jsonl"
printf 'd_model: 10\nheads: 4\n' >"$tmp/bad.yaml"
expect_bad "init with heads not dividing d_model" "$tmp/bad.yaml:2:8: heads (4) must divide d_model (10)" init --lang "$G/dyck-1.yaml" --config "$tmp/bad.yaml" -o "$tmp/never.jsonl"
printf 'not a checkpoint' >"$tmp/junk.safetensors"
expect_bad "eval on a corrupt checkpoint" "$tmp/junk.safetensors" eval --model "$tmp/junk.safetensors" --data "$D"
# a truncated checkpoint
head -c 300 "$M" >"$tmp/cut.safetensors"
expect_bad "eval on a truncated checkpoint" "$tmp/cut.safetensors" eval --model "$tmp/cut.safetensors" --data "$D"

# --- constructions from the source tree ---
for c in "$SRC"/probes/constructions/*.yaml; do
    run eval --model "$c" --exhaustive 8 --lengths 64 --per-length 50 --mode saturated --json
    expect_rc 0 "eval construction $(basename "$c")"
    checks=$((checks + 1))
    /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert all(b["correct"]["saturated"]==b["n"] for b in d["bins"]), d["bins"]' "$tmp/out" ||
        fail "construction $(basename "$c") is not exact in saturated mode"
done

finish
