# satprobe probe, report and merge end to end on a tiny probe (two languages, a tiny model, two
# seeds): every file exists and parses, the summary's numbers are those of accuracy.csv, runs
# are byte-identical whatever --jobs says, a killed run resumes to the same results, shards
# merge to the same results, report renders the same bytes again, and bad probes fail cleanly.
. "$(dirname "$0")/lib.sh"

P=$SRC/tests/fixtures/probes/tiny.yaml
PY=/usr/bin/python3

# same DIR1 DIR2 WHAT: the two results directories hold the same files with the same bytes,
# but for the wall times (manifest.json, cell.time.json)
same() {
    checks=$((checks + 1))
    diff -r -x manifest.json -x cell.time.json "$1" "$2" >"$tmp/diff" 2>&1 ||
        fail "$3: $1 and $2 differ: $(head -c 600 "$tmp/diff")"
}

# 1. A whole run, one cell at a time.
run probe "$P" -o "$tmp/a" --jobs 1
expect_rc 0 "probe"
expect_out_has "summary    $tmp/a/summary.md" "probe"
expect_err_has "[6/6 done] parity / tiny / seed 2: finished" "probe progress lines"
for f in probe.yaml probe.json manifest.json summary.md accuracy.csv norms.csv saturation.csv heads.csv \
    train.csv baselines.csv fits.csv constructions/dyck-1.json \
    cells/dyck-1/tiny/seed-1/cell.json cells/parity/tiny/seed-2/model.safetensors \
    plots/accuracy-dyck-1.svg plots/norms-parity.svg plots/saturation-dyck-1.svg plots/heads.svg; do
    checks=$((checks + 1))
    [ -s "$tmp/a/$f" ] || fail "probe: $f missing"
done
checks=$((checks + 1))
cmp -s "$P" "$tmp/a/probe.yaml" || fail "probe.yaml is not the probe file"

# Every file parses; the summary's entries are the seeds' mean, sd and max from accuracy.csv.
checks=$((checks + 1))
$PY - "$tmp/a" <<'PY' || fail "results do not parse or the summary disagrees with accuracy.csv"
import csv, glob, json, math, os, re, sys
import xml.etree.ElementTree as ET
d = sys.argv[1]
probe = json.load(open(d + "/probe.json"))
assert [l["id"] for l in probe["languages"]] == ["aa-star", "dyck-1", "parity"], probe["languages"]
assert probe["seeds"] == [1, 2] and probe["modes"] == ["soft", "saturated", "hard"]
man = json.load(open(d + "/manifest.json"))
assert man["probe_sha256"] == probe["sha256"] and man["seeds"] == [1, 2], man
assert man["finished"] == 6 and man["total"] == 6 and man["wall_seconds"] > 0
assert re.fullmatch(r"[0-9a-f]{12}(-dirty)?|unknown|v?[0-9.]+.*", man["git_revision"]), man["git_revision"]
for f in glob.glob(d + "/cells/*/*/*/*.json") + glob.glob(d + "/constructions/*.json"):
    json.load(open(f))
for f in glob.glob(d + "/plots/*.svg"):
    ET.parse(f)
rows = list(csv.DictReader(open(d + "/accuracy.csv")))
assert rows and set(rows[0]) >= {"language", "model", "seed", "mode", "bin", "n", "correct", "accuracy"}
cells = [r for r in rows if r["seed"]]
# two languages x two seeds x three modes x two bins, recognize only; none for (aa)*
assert len(cells) == 2 * 2 * 3 * 2, len(cells)
for r in cells:
    assert int(r["n"]) > 0 and abs(float(r["accuracy"]) - int(r["correct"]) / int(r["n"])) < 1e-9
    c = json.load(open("%s/cells/%s/%s/seed-%s/cell.json" % (d, r["language"], r["model"], r["seed"])))
    hit = [a for a in c["accuracy"] if a["mode"] == r["mode"] and a["split"] == r["bin"]]
    assert len(hit) == 1 and hit[0]["correct"] == int(r["correct"]), (r, hit)
built = [r for r in rows if not r["seed"]]
assert built and all(r["model"] == "construction:dyck-1" for r in built), built
for name in ("norms", "saturation", "heads", "train", "baselines", "fits"):
    assert list(csv.DictReader(open("%s/%s.csv" % (d, name)))), name
summary = open(d + "/summary.md").read()
assert "## Not trained\n\n- aa-star / tiny / seed 1: the training split has 0 strings" in summary, summary
assert json.load(open(d + "/cells/aa-star/tiny/seed-2/cell.json"))["untrained"]
table = [l for l in summary.splitlines() if l.startswith("| dyck-1 ") or l.startswith("| parity ")]
assert len(table) >= 2, summary
header = [l for l in summary.splitlines() if l.startswith("| language ")][0]
cols = [c.strip() for c in header.strip("|").split("|")]
for line in table[:2]:
    cells_ = [c.strip() for c in line.strip("|").split("|")]
    lang = cells_[0]
    for b, label in [(x["split"], "%d–%d" % (x["lo"], x["hi"])) for x in probe["bins"]]:
        for mode in ("soft", "saturated", "hard"):
            acc = [int(r["correct"]) / int(r["n"]) for r in cells
                   if r["language"] == lang and r["mode"] == mode and r["bin"] == b]
            m = sum(acc) / len(acc)
            sd = math.sqrt(sum((a - m) ** 2 for a in acc) / (len(acc) - 1))
            want = "%.3f ± %.3f (%.3f)" % (m, sd, max(acc))
            got = cells_[cols.index("%s %s" % (label, mode))]
            assert got == want, (lang, b, mode, got, want)
PY

# 2. The same probe with two jobs: the same bytes.
run probe "$P" -o "$tmp/b" --jobs 2
expect_rc 0 "probe --jobs 2"
same "$tmp/a" "$tmp/b" "--jobs 2"

# 3. Running it again skips every cell and changes nothing.
run probe "$P" -o "$tmp/b" --jobs 2
expect_rc 0 "probe again"
expect_err_has "6 cells in this run: 6 already finished, 0 run now" "probe again"
same "$tmp/a" "$tmp/b" "probe again"

# 4. Killed in the middle of a cell's training, then run again: the same results as a run that
# was never interrupted. A longer budget than above, so that the kill lands inside training.
sed 's|train: {steps: 200,|train: {steps: 3000,|' "$P" >"$tmp/long.yaml"
run probe "$tmp/long.yaml" -o "$tmp/long" --jobs 1
expect_rc 0 "long probe"
"$SATPROBE" probe "$tmp/long.yaml" -o "$tmp/c" --jobs 1 >/dev/null 2>&1 &
pid=$!
caught=
for _ in $(seq 1 6000); do
    for cell in "$tmp"/c/cells/*/tiny/seed-*; do
        if [ -e "$cell/optim.safetensors" ] && [ ! -e "$cell/trained.json" ]; then
            caught=$cell
            break 2
        fi
    done
    sleep 0.01
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
checks=$((checks + 1))
[ -n "$caught" ] || fail "kill: no cell was caught between a checkpoint and the end of its training"
checks=$((checks + 1))
[ ! -e "$caught/cell.json" ] || fail "kill: the caught cell finished anyway"
run probe "$tmp/long.yaml" -o "$tmp/c" --jobs 1
expect_rc 0 "probe after kill"
same "$tmp/long" "$tmp/c" "killed and resumed"

# 5. Shards, by option and by Slurm's variables, merged: the same results.
run probe "$P" -o "$tmp/s1" --shard 1/2
expect_rc 0 "probe --shard 1/2"
expect_out_has "3 of 6 cells finished" "probe --shard 1/2"
checks=$((checks + 1))
[ ! -e "$tmp/s1/summary.md" ] || fail "a shard alone wrote summary.md"
SLURM_ARRAY_TASK_ID=4 SLURM_ARRAY_TASK_MIN=3 SLURM_ARRAY_TASK_COUNT=2 run probe "$P" -o "$tmp/s2"
expect_rc 0 "probe under Slurm"
expect_err_has "shard 2 of 2" "probe under Slurm"
run merge -o "$tmp/m" "$tmp/s1" "$tmp/s2"
expect_rc 0 "merge"
expect_out_has "6 of 6 cells finished" "merge"
same "$tmp/a" "$tmp/m" "merged shards"
# merging a shard with itself leaves cells missing, and says so
run merge -o "$tmp/m1" "$tmp/s1"
expect_rc 0 "merge of one shard"
expect_out_has "3 of 6 cells finished" "merge of one shard"
checks=$((checks + 1))
grep -q "^## Missing cells" "$tmp/m1/summary.md" || fail "merge of one shard: summary lists no missing cells"

# 6. report renders the same bytes again.
rm -rf "$tmp/b/summary.md" "$tmp/b/plots" "$tmp/b/accuracy.csv"
run report "$tmp/b"
expect_rc 0 "report"
same "$tmp/a" "$tmp/b" "report"

# 7. Bad input: exit 2, a positioned message, nothing on stdout, nothing written.
cat >"$tmp/bad.yaml" <<'EOF'
name: bad
languages: [grammars/dyck-1.yaml]
models:
  - name: m
    config: {d_model: 8, colour: red}
EOF
run probe "$tmp/bad.yaml" -o "$tmp/bad"
expect_rc 2 "bad probe"
expect_err_has "bad.yaml:5:26: unknown key 'colour' in model configuration" "bad probe"
expect_empty_out "bad probe"
checks=$((checks + 1))
[ ! -e "$tmp/bad" ] || fail "bad probe: the results directory was made"

sed 's|grammars/dyck-1.yaml|grammars/no-such-*.yaml|' "$P" >"$tmp/glob.yaml"
run probe "$tmp/glob.yaml" -o "$tmp/bad"
expect_rc 2 "probe with a glob matching nothing"
expect_err_has "glob.yaml:5:36: languages: 'grammars/no-such-*.yaml' matches no file" "probe with a glob matching nothing"
expect_err_has "matches no file" "probe with a glob matching nothing"

bad_grammar=$(ls "$SRC"/tests/fixtures/bad/*.yaml | head -1)
sed "s|grammars/dyck-1.yaml|$bad_grammar|" "$P" >"$tmp/badlang.yaml"
run probe "$tmp/badlang.yaml" -o "$tmp/bad"
expect_rc 2 "probe with a bad grammar"
expect_err_has "$(basename "$bad_grammar"):" "probe with a bad grammar"
expect_empty_out "bad grammar"

run probe "$tmp/nothing.yaml"
expect_rc 2 "missing probe file"
expect_err_has "nothing.yaml" "missing probe file"

# another probe into a's directory: refused, a untouched
sed 's|seeds: \[1, 2\]|seeds: [1, 3]|' "$P" >"$tmp/other.yaml"
run probe "$tmp/other.yaml" -o "$tmp/a"
expect_rc 2 "probe into another probe's results"
expect_err_has "holds the results of another probe" "probe into another probe's results"
same "$tmp/a" "$tmp/b" "refused probe leaves the directory"

# with no file, the default probe: refused here too, which shows it was read
run probe -o "$tmp/a"
expect_rc 2 "probe without a file into tiny's results"
expect_err_has "probe default: " "probe without a file"
expect_err_has "holds the results of another probe" "probe without a file"

# --force replaces another probe's results, but never a directory that holds none
mkdir -p "$tmp/notes" && echo keep >"$tmp/notes/file.txt"
run probe "$P" -o "$tmp/notes" --force
expect_rc 2 "probe --force into a directory that is not a probe's"
expect_err_has "holds no probe's results" "probe --force into a directory that is not a probe's"
checks=$((checks + 1))
[ -f "$tmp/notes/file.txt" ] || fail "probe --force deleted a directory that was not a probe's results"
cp -r "$tmp/s1" "$tmp/forced"
run probe "$tmp/other.yaml" -o "$tmp/forced" --force
expect_rc 0 "probe --force over another probe's results"
checks=$((checks + 1))
grep -q '"seeds": \[1, 3\]' "$tmp/forced/probe.json" || fail "probe --force: probe.json is not the new probe's"

run merge -o "$tmp/m2" "$tmp/a" "$tmp/s1x"
expect_rc 2 "merge of a missing directory"
sed -i 's|"cells": 6|"cells": 7|' "$tmp/s1/probe.json"
run merge -o "$tmp/m3" "$tmp/s1" "$tmp/s2"
expect_rc 2 "merge of different probes"
expect_err_has "is not the probe of" "merge of different probes"

run report "$tmp/nowhere"
expect_rc 2 "report of a directory that is not a probe's"
expect_err_has "nowhere/probe.json: no such file" "report of a directory that is not a probe's"
run report
expect_rc 2 "report without a directory"
expect_err_has "needs exactly one results DIR" "report without a directory"

# a cell whose training diverges stops the probe (exit 1), naming the cell, in a worker too
sed 's|train: {steps: 200, batch: 16, val_every: 20}|train: {steps: 50, batch: 16, val_every: 20, lr: 1e30}|' "$P" >"$tmp/div.yaml"
for jobs in 1 2; do
    run probe "$tmp/div.yaml" -o "$tmp/div$jobs" --jobs $jobs
    expect_rc 1 "diverging probe, --jobs $jobs"
    expect_err_has "cell dyck-1 / tiny / seed " "diverging probe, --jobs $jobs"
    expect_err_has "activations left float32 range" "diverging probe, --jobs $jobs"
done

run probe "$P" --shard 3/2 -o "$tmp/bad"
expect_rc 2 "bad shard"
run probe "$P" --jobs 0 -o "$tmp/bad"
expect_rc 2 "--jobs 0"

finish
