# satprobe train end to end: a run from a grammar with the defaults but a short budget, every
# file of the run directory, byte-identical reruns, exact resumption, and bad input (exit 2,
# nothing on stdout).
. "$(dirname "$0")/lib.sh"

R=$tmp/run
FAST=(--steps 60 --val-every 20 --d-model 16 --layers 1 --heads 2 --batch 16)

run train --lang "$G/dyck-1.yaml" -o "$R" "${FAST[@]}" --seed 3
expect_rc 0 "train --lang"
expect_out_has "steps      60 (from 0)" "train --lang"
expect_out_has "fit        norm = " "train --lang"
expect_err_has "training " "train --lang"
for f in run.json train.csv norms.csv saturation.csv fit.json model.safetensors best.safetensors optim.safetensors \
    data/manifest.json data/train.jsonl; do
    checks=$((checks + 1))
    [ -s "$R/$f" ] || fail "train: $f missing"
done
checks=$((checks + 1))
[ "$(wc -l <"$R/train.csv")" -eq 61 ] || fail "train.csv: expected a header and 60 rows"
checks=$((checks + 1))
head -1 "$R/train.csv" | grep -qx 'step,loss,train_acc,val_loss,val_acc,lr' || fail "train.csv header"
checks=$((checks + 1))
/usr/bin/python3 - "$R" <<'PY' || fail "run files do not parse or disagree"
import json, sys, csv
d = sys.argv[1]
run = json.load(open(d + "/run.json"))
assert run["steps"] == 60 and run["seed"] == 3 and run["config"]["d_model"] == 16
fit = json.load(open(d + "/fit.json"))
assert 0 <= fit["sqrt"]["r2"] <= 1 and "p" in fit["power"]
rows = list(csv.DictReader(open(d + "/train.csv")))
vals = [r for r in rows if r["val_loss"]]
assert [int(r["step"]) for r in vals] == [20, 40, 60], [r["step"] for r in vals]
norms = list(csv.DictReader(open(d + "/norms.csv")))
assert [int(r["step"]) for r in norms][:3] == [0, 10, 20]
sat = list(csv.DictReader(open(d + "/saturation.csv")))
assert [int(r["step"]) for r in sat] == [0, 20, 40, 60]
assert all(-1 <= float(r["saturation"]) <= 1 and 0 <= float(r["agree_saturated"]) <= 1 for r in sat)
PY
# the model trains on: eval reads the checkpoint
run eval --model "$R/best.safetensors" --data "$R/data" --mode soft
expect_rc 0 "eval of a trained checkpoint"

# the same seed and options: the same files, byte for byte
run train --lang "$G/dyck-1.yaml" -o "$tmp/again" "${FAST[@]}" --seed 3
for f in train.csv norms.csv saturation.csv fit.json model.safetensors optim.safetensors; do
    checks=$((checks + 1))
    cmp -s "$R/$f" "$tmp/again/$f" || fail "rerun: $f differs"
done

# two threads: the same files as one where `satprobe --version` says so of the OpenBLAS kernels
# (tests/test_pool.c checks the kernels one by one); a model large enough that every kind of loop
# splits
WIDE=(--steps 30 --val-every 15 --d-model 32 --layers 2 --heads 8 --d-ff 128 --batch 32 --seed 4)
run train --lang "$G/dyck-1.yaml" -o "$tmp/one" "${WIDE[@]}" --threads 1
expect_rc 0 "train --threads 1"
run train --lang "$G/dyck-1.yaml" -o "$tmp/two" "${WIDE[@]}" --threads 2
expect_rc 0 "train --threads 2"
if "$SATPROBE" --version | grep -q "do not depend on --threads"; then
    for f in train.csv norms.csv saturation.csv fit.json model.safetensors best.safetensors optim.safetensors; do
        checks=$((checks + 1))
        cmp -s "$tmp/one/$f" "$tmp/two/$f" || fail "--threads 2: $f differs from one thread's"
    done
else
    echo "note: $("$SATPROBE" --version | tail -1); --threads 2 files not compared"
fi

# 30 steps, then resume to 60: the same as 60 at once
run train --lang "$G/dyck-1.yaml" -o "$tmp/split" --steps 40 --val-every 20 --d-model 16 --layers 1 --heads 2 --batch 16 --seed 3
expect_rc 0 "train 40 steps"
run train --lang "$G/dyck-1.yaml" -o "$tmp/split" "${FAST[@]}" --seed 3 --resume
expect_rc 0 "train --resume"
expect_out_has "steps      60 (from 40)" "train --resume"
for f in train.csv norms.csv saturation.csv fit.json model.safetensors best.safetensors optim.safetensors; do
    checks=$((checks + 1))
    cmp -s "$R/$f" "$tmp/split/$f" || fail "resume: $f differs from the uninterrupted run"
done

# bad input
expect_bad() { # DESCRIPTION NEEDLE ARGS...
    local what=$1 needle=$2
    shift 2
    run "$@"
    expect_rc 2 "$what"
    expect_empty_out "$what"
    expect_err_has "$needle" "$what"
}
expect_bad "train without -o" "needs -o RUNDIR" train --lang "$G/dyck-1.yaml"
expect_bad "train without data" "exactly one of --lang" train -o "$tmp/x"
expect_bad "train over a run" "use --resume to continue it or --force" train --lang "$G/dyck-1.yaml" -o "$R"
expect_bad "train --resume without a run" "holds no checkpoint" train --lang "$G/dyck-1.yaml" -o "$tmp/none" --resume
expect_bad "train with a bad optimizer" "--optimizer" train --lang "$G/dyck-1.yaml" -o "$tmp/x" --optimizer rmsprop
expect_bad "train with a bad lr" "lr must be" train --lang "$G/dyck-1.yaml" -o "$tmp/x" --lr 0
expect_bad "train with a bad model option" "--heads 3" train --lang "$G/dyck-1.yaml" -o "$tmp/x" --d-model 16 --heads 3
expect_bad "train with a bad norm" "--norm middle" train --lang "$G/dyck-1.yaml" -o "$tmp/x" --norm middle
expect_bad "train predict on a recognize model" "next-symbol head" train --lang "$G/dyck-1.yaml" -o "$tmp/y" --loss predict "${FAST[@]}"
expect_bad "train --resume with another model" "differs from this run's" train --lang "$G/dyck-1.yaml" -o "$R" --resume --steps 80 --val-every 20 --d-model 8 --layers 1 --heads 2 --batch 16 --seed 3
expect_bad "train with a bad grammar" "dyck-9.yaml" train --lang "$G/dyck-9.yaml" -o "$tmp/x"

finish
