# satprobe init + eval against tests/reference/forward.py, an independent numpy forward pass
# written from docs/model.md: for models covering every configuration option (each position
# encoding alone and combined, norm pre/post/none, bias on/off, mask causal/none, readout
# cls/last/mean, heads_out recognize/predict/both, 0 to 4 layers, several heads, widths that
# are not powers of two), every logit that `satprobe eval --predictions` writes in the modes
# soft, scaled:10, saturated, hard and limit must match the reference, on `satprobe gen`
# datasets (lengths 1..40, batches of several sizes) and on `--lang` strings (every string of
# lengths 0..6, the empty one included, and some of length 60). Then the check is shown able to
# fail: a changed logit and a changed weight must each make forward.py exit 1.
# Skipped (exit 77) when /usr/bin/python3 cannot import numpy.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
REF=$SRC/tests/reference/forward.py
if ! "$PY" -c 'import numpy' >/dev/null 2>&1; then
    echo "SKIP: $PY cannot import numpy"
    exit 77
fi

# ref ARGS... : runs forward.py, stdout and stderr to $tmp/ref, status in $rc.
ref() {
    "$PY" "$REF" "$@" >"$tmp/ref" 2>&1
    rc=$?
}

ref --self-test
expect_rc 0 "forward.py --self-test"
[ "$rc" -eq 0 ] || sed 's/^/    /' "$tmp/ref" >&2
ref
expect_rc 2 "forward.py without arguments"
ref "$tmp/none.safetensors" "$tmp/none.jsonl"
expect_rc 2 "forward.py on missing files"

# One small dataset per grammar: 100 test strings of lengths 1..20 and 100 of 21..40.
for g in dyck-1 parity shuffle-2 majority; do
    run gen "$G/$g.yaml" -o "$tmp/data-$g" --train 200 --train-lengths 1:20 \
        --test-bins 1:20,21:40 --per-bin 100 --seed 3
    expect_rc 0 "gen $g"
done

MODES=(--mode soft --mode scaled:10 --mode saturated --mode hard --mode limit)
# forward.py's torch implementation, when torch is importable, checks these models only
# (between them every norm, bias, mask, readout and head): importing torch costs seconds.
TORCH_MODELS=" defaults post-learned-predict none-i-both post-inverse-both everything "

# model NAME GRAMMAR SEED 'EVAL OPTIONS' 'YAML' : init with that config (none if YAML is
# empty), eval in every mode with --predictions, compare with forward.py. Leaves the model in
# $tmp/NAME.safetensors and the predictions in $tmp/NAME.jsonl.
model() {
    local name=$1 g=$2 seed=$3 evalopts=$4 yaml=$5
    local m=$tmp/$name.safetensors p=$tmp/$name.jsonl cfg=()
    if [ -n "$yaml" ]; then
        printf '%s\n' "$yaml" >"$tmp/$name.yaml"
        cfg=(--config "$tmp/$name.yaml")
    fi
    run init --lang "$G/$g.yaml" "${cfg[@]}" --seed "$seed" -o "$m"
    expect_rc 0 "$name: init"
    [ "$rc" -eq 0 ] || return
    # shellcheck disable=SC2086
    run eval --model "$m" --data "$tmp/data-$g" "${MODES[@]}" --predictions "$p" $evalopts
    expect_rc 0 "$name: eval"
    [ "$rc" -eq 0 ] || return
    checks=$((checks + 1))
    [ -s "$p" ] || { fail "$name: eval wrote no predictions"; return; }
    local tau torch=(--no-torch)
    tau=$(printf '%s\n' "$evalopts" | sed -nE 's/.*--tie-tolerance[ =]([^ ]+).*/\1/p')
    case "$TORCH_MODELS" in *" $name "*) torch=() ;; esac
    ref "$m" "$p" ${tau:+--tie-tolerance "$tau"} "${torch[@]}"
    checks=$((checks + 1))
    if [ "$rc" -ne 0 ]; then
        fail "$name: forward.py exit status $rc (config: $(printf '%s' "$yaml" | tr '\n' ' '))"
        sed 's/^/    /' "$tmp/ref" >&2
    else
        echo "== $name ($g): $(grep -E '^largest' "$tmp/ref")"
        grep -E '^(skipped|[0-9]+ values beyond|torch float64)' "$tmp/ref" | sed 's/^/   /'
    fi
}

model defaults majority 1 "" ""

model pre-sinusoidal dyck-1 2 "" "d_model: 12
heads: 3
layers: 2
d_ff: 20"

model post-learned-predict parity 3 "--batch 5" "d_model: 10
heads: 2
layers: 1
d_ff: 16
norm: post
bias: false
readout: last
pos: [learned]
heads_out: predict
max_len: 64"

model none-i-both shuffle-2 4 "" "d_model: 9
heads: 3
layers: 2
d_ff: 12
norm: none
mask: none
readout: mean
pos: [i]
heads_out: both"

model pre-i-over-n majority 5 "--batch 7" "d_model: 8
heads: 1
layers: 3
d_ff: 5
bias: false
pos: [\"i/n\"]"

model post-inverse-both dyck-1 6 "" "d_model: 6
heads: 2
layers: 2
d_ff: 10
norm: post
mask: none
readout: last
pos: [\"1/i\"]
heads_out: both"

model none-cos parity 7 "--batch 3" "d_model: 14
heads: 7
layers: 2
d_ff: 9
norm: none
readout: mean
pos: [\"cos(pi*i)\"]"

model pre-combined-both shuffle-2 8 "" "d_model: 15
heads: 5
layers: 2
d_ff: 24
pos: [learned, i, \"1/i\"]
heads_out: both"

model post-deep-predict majority 9 "" "d_model: 11
heads: 1
layers: 4
d_ff: 13
norm: post
readout: last
pos: [sinusoidal, \"i/n\", \"cos(pi*i)\"]
heads_out: predict"

model no-position dyck-1 10 "" "d_model: 4
heads: 2
layers: 1
d_ff: 3
readout: mean
pos: [none]"

model zero-layers parity 11 "" "d_model: 5
heads: 1
layers: 0
pos: [learned]
max_len: 50"

model everything shuffle-2 12 "--batch 9" "d_model: 20
heads: 4
layers: 3
d_ff: 33
norm: pre
bias: false
mask: none
readout: last
pos: [sinusoidal, learned, i, \"i/n\", \"1/i\", \"cos(pi*i)\"]
heads_out: both
ln_eps: 0.001"

model none-nobias dyck-1 13 "" "d_model: 12
heads: 4
layers: 2
d_ff: 8
norm: none
bias: false
readout: cls"

model cls-predict-wide-tau majority 14 "--tie-tolerance 0.001" "d_model: 18
heads: 6
layers: 2
d_ff: 7
norm: pre
mask: none
readout: cls
pos: sinusoidal
heads_out: predict"

# Strings built in memory: every string of lengths 0..6 (the empty string among them: T = 1,
# or 2 with CLS) and a few of length 60, through models with each readout.
lang_eval() { # NAME GRAMMAR
    local name=$1 g=$2 m=$tmp/$1.safetensors p=$tmp/$1-lang.jsonl
    [ -s "$m" ] || return
    run eval --model "$m" --lang "$G/$g.yaml" --exhaustive 6 --lengths 60 --per-length 10 \
        "${MODES[@]}" --predictions "$p" --batch 16
    expect_rc 0 "$name --lang: eval"
    [ "$rc" -eq 0 ] || return
    checks=$((checks + 1))
    grep -q '^{"string": ""' "$p" || fail "$name --lang: no prediction for the empty string"
    ref "$m" "$p" --no-torch
    checks=$((checks + 1))
    if [ "$rc" -ne 0 ]; then
        fail "$name --lang: forward.py exit status $rc"
        sed 's/^/    /' "$tmp/ref" >&2
    else
        echo "== $name --lang ($g): $(grep -E '^largest' "$tmp/ref")"
    fi
}
lang_eval pre-sinusoidal dyck-1
lang_eval post-inverse-both dyck-1
lang_eval no-position dyck-1
lang_eval none-cos parity
lang_eval everything shuffle-2

# The check can fail: a changed accept logit, a changed next-symbol logit, a changed weight.
if [ -s "$tmp/pre-sinusoidal.jsonl" ] && [ -s "$tmp/pre-sinusoidal.safetensors" ]; then
    "$PY" - "$tmp/pre-sinusoidal.jsonl" "$tmp/bad.jsonl" <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
obj = json.loads(lines[0])
obj["logit"]["soft"] = obj["logit"]["soft"] * 1.01 + 0.01
lines[0] = json.dumps(obj)
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
EOF
    ref "$tmp/pre-sinusoidal.safetensors" "$tmp/bad.jsonl" --no-torch
    expect_rc 1 "forward.py on a changed soft logit"
    checks=$((checks + 1))
    grep -q '^MISMATCH' "$tmp/ref" || fail "forward.py on a changed logit names no mismatch"

    # the first weight of layers.0.attn.v.weight, plus 0.25
    "$PY" - "$tmp/pre-sinusoidal.safetensors" "$tmp/bad.safetensors" <<'EOF'
import json, struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
n = struct.unpack("<Q", data[:8])[0]
entry = json.loads(data[8:8 + n])["layers.0.attn.v.weight"]
at = 8 + n + entry["data_offsets"][0]
(x,) = struct.unpack("<f", data[at:at + 4])
data[at:at + 4] = struct.pack("<f", x + 0.25)
open(sys.argv[2], "wb").write(bytes(data))
EOF
    ref "$tmp/bad.safetensors" "$tmp/pre-sinusoidal.jsonl" --no-torch
    expect_rc 1 "forward.py on a changed weight"
fi
if [ -s "$tmp/none-i-both.jsonl" ]; then
    "$PY" - "$tmp/none-i-both.jsonl" "$tmp/bad.jsonl" <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
obj = json.loads(lines[-1])
row = obj["next_logits"]["soft"][-1]
row[0] = row[0] + 0.5
lines[-1] = json.dumps(obj)
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
EOF
    ref "$tmp/none-i-both.safetensors" "$tmp/bad.jsonl" --no-torch
    expect_rc 1 "forward.py on a changed next-symbol logit"
fi

finish
