# satprobe's training against PyTorch (tests/reference/train_step.py, a torch float32 model
# written from docs/model.md): for models covering norm pre/post/none, bias on/off, mask
# causal/none, readout cls/last/mean, heads_out recognize/both (loss recognize, both and
# predict) and learned, sinusoidal and i/n positions,
#   - one batch: every gradient that tests/reference/grad_dump (sp_model_forward, the
#     trainer's losses, sp_model_backward) writes must match torch's loss.backward();
#   - a run: `satprobe train` for 20 steps (Adam; and AdamW with weight decay, SGD with
#     momentum, Adam with clipping on some models) from the model `satprobe init` gives for the
#     same config and seed, on the batches grad_dump --plan lists, must end with the parameters
#     that torch.optim reaches, with the same loss at every step.
# Then the check is shown able to fail: a changed gradient and a changed parameter.
# Usage: bash torch.sh SATPROBE_EXE SOURCE_ROOT GRAD_DUMP_EXE
# Skipped (exit 77) when /usr/bin/python3 cannot import torch.
. "$(dirname "$0")/lib.sh"
GRAD_DUMP=$3

PY=/usr/bin/python3
STEP=$SRC/tests/reference/train_step.py
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
if ! "$PY" -c 'import torch' >/dev/null 2>&1; then
    echo "SKIP: $PY cannot import torch"
    exit 77
fi

# py ARGS... : runs train_step.py, output to $tmp/py, status in $rc.
py() {
    "$PY" "$STEP" "$@" >"$tmp/py" 2>&1
    rc=$?
}

# expect_py WHAT : train_step.py must have passed; prints its summary lines.
expect_py() {
    checks=$((checks + 1))
    if [ "$rc" -ne 0 ]; then
        fail "$1: train_step.py exit status $rc"
        grep -E 'MISMATCH|Error|error|at \[' "$tmp/py" | head -20 | sed 's/^/    /' >&2
        tail -5 "$tmp/py" | sed 's/^/    /' >&2
    else
        echo "== $1: $(grep -E '^(grad|param): largest' "$tmp/py")"
        grep -E '^(loss |losses|initial)' "$tmp/py" | sed 's/^/   /'
    fi
}

run gen "$G/shuffle-2.yaml" -o "$tmp/data" --task both --train 300 --train-lengths 1:16 \
    --test-bins 1:16 --per-bin 40 --seed 4
expect_rc 0 "gen shuffle-2"

# model NAME SEED LOSS 'YAML' 'OPTIMIZER OPTIONS'... : init, one-batch gradient check, then one
# 20-step run per optimizer option string.
model() {
    local name=$1 seed=$2 loss=$3 yaml=$4
    shift 4
    local m=$tmp/$name.safetensors
    printf '%s\n' "$yaml" >"$tmp/$name.yaml"
    run init --lang "$G/shuffle-2.yaml" --config "$tmp/$name.yaml" --seed "$seed" -o "$m"
    expect_rc 0 "$name: init"
    [ "$rc" -eq 0 ] || return
    "$GRAD_DUMP" "$m" "$tmp/data" train "$tmp/$name.grad.safetensors" --loss "$loss" --batch 8 \
        >"$tmp/out" 2>"$tmp/err"
    rc=$?
    expect_rc 0 "$name: grad_dump"
    [ "$rc" -eq 0 ] || return
    py grad "$m" "$tmp/$name.grad.safetensors" "$tmp/data" train --batch 8 --loss "$loss"
    expect_py "$name grad ($loss)"
    local i=0 opts
    for opts in "$@"; do
        i=$((i + 1))
        local r=$tmp/$name-run$i
        # shellcheck disable=SC2086
        run train --data "$tmp/data" --config "$tmp/$name.yaml" --steps 20 --batch 8 --lr 1e-3 \
            --val-every 20 --seed "$seed" --loss "$loss" $opts -o "$r"
        expect_rc 0 "$name: train $opts"
        [ "$rc" -eq 0 ] || continue
        "$GRAD_DUMP" "$m" "$tmp/data" train "$tmp/scratch.safetensors" --loss "$loss" --batch 8 \
            --plan 20 "$seed" "$r.plan" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        expect_rc 0 "$name: grad_dump --plan"
        [ "$rc" -eq 0 ] || continue
        # shellcheck disable=SC2086
        py run "$m" "$r" "$tmp/data" "$r.plan" --loss "$loss" --lr 1e-3 $opts
        expect_py "$name 20 steps $opts"
    done
}

ADAM="--optimizer adam --weight-decay 0"
ADAMW="--optimizer adamw --weight-decay 0.1"
SGD="--optimizer sgd --momentum 0.9 --weight-decay 0.01"
CLIP="--optimizer adam --weight-decay 0 --clip 0.5"

model pre-cls-sinusoidal 1 recognize "d_model: 8
heads: 2
layers: 2
d_ff: 12" "$ADAM" "$ADAMW" "$SGD"

model post-last-learned-both 2 both "d_model: 10
heads: 2
layers: 2
d_ff: 14
norm: post
readout: last
pos: [learned]
heads_out: both
max_len: 40" "$ADAM" "$CLIP"

model none-mean-nobias 3 recognize "d_model: 9
heads: 3
layers: 2
d_ff: 7
norm: none
bias: false
mask: none
readout: mean
pos: [sinusoidal, \"i/n\"]" "$ADAM"

model pre-nobias-none-both 4 both "d_model: 12
heads: 4
layers: 1
d_ff: 10
bias: false
mask: none
readout: cls
pos: [sinusoidal, learned, \"i/n\"]
heads_out: both
max_len: 40
ln_eps: 0.001" "$ADAM" "$SGD"

model post-mean-predict 5 predict "d_model: 8
heads: 1
layers: 2
d_ff: 9
norm: post
bias: false
readout: mean
pos: [\"i/n\"]
heads_out: both" "$ADAMW"

# The check can fail: one gradient value, one final parameter, changed.
g=$tmp/pre-cls-sinusoidal.grad.safetensors
if [ -s "$g" ]; then
    "$PY" - "$g" "$tmp/bad.safetensors" <<'EOF'
import json, struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
n = struct.unpack("<Q", data[:8])[0]
entry = json.loads(data[8:8 + n])["layers.1.ff.w1.weight"]
at = 8 + n + entry["data_offsets"][0] + 4 * 5
(x,) = struct.unpack("<f", data[at:at + 4])
data[at:at + 4] = struct.pack("<f", x * 1.001 + 1e-5)
open(sys.argv[2], "wb").write(bytes(data))
EOF
    py grad "$tmp/pre-cls-sinusoidal.safetensors" "$tmp/bad.safetensors" "$tmp/data" train --batch 8 \
        --loss recognize
    expect_rc 1 "train_step.py grad on a changed gradient"
    checks=$((checks + 1))
    grep -q 'MISMATCH' "$tmp/py" || fail "train_step.py on a changed gradient names no mismatch"
fi
r=$tmp/pre-cls-sinusoidal-run1
if [ -s "$r/model.safetensors" ]; then
    cp -r "$r" "$tmp/bad-run"
    "$PY" - "$r/model.safetensors" "$tmp/bad-run/model.safetensors" <<'EOF'
import json, struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
n = struct.unpack("<Q", data[:8])[0]
entry = json.loads(data[8:8 + n])["layers.0.attn.q.weight"]
at = 8 + n + entry["data_offsets"][0]
(x,) = struct.unpack("<f", data[at:at + 4])
data[at:at + 4] = struct.pack("<f", x + 1e-4)
open(sys.argv[2], "wb").write(bytes(data))
EOF
    # shellcheck disable=SC2086
    py run "$tmp/pre-cls-sinusoidal.safetensors" "$tmp/bad-run" "$tmp/data" "$r.plan" --loss recognize \
        --lr 1e-3 $ADAM
    expect_rc 1 "train_step.py run on a changed parameter"
fi

finish
