#!/usr/bin/env python3
"""Cross-check of satprobe's training against PyTorch: one batch's gradients, and whole runs.

The model is rebuilt in torch (float32) from a checkpoint, following docs/model.md in soft
mode: a module whose parameters carry the checkpoint's names (``layers.0.attn.q.weight``, ...),
embeddings plus sinusoidal / learned positions and position features, pre / post / no layer
norm with the config's ``ln_eps``, multi-head attention with causal and padding masks (-inf
before the softmax), ReLU feed-forward, readout cls / last / mean and the next-symbol head.
The losses are those of docs/training.md: recognize = mean binary cross-entropy of the accept
logits over the batch; predict = mean over every (position, output) entry of the positives;
both = L_recognize + W L_predict. Strings are read from the dataset's JSONL file here, not
through satprobe.

Usage (run with OPENBLAS_NUM_THREADS=1 in the environment; Debian's torch uses OpenBLAS)::

    train_step.py grad MODEL.safetensors GRADS.safetensors DATASET_DIR SPLIT
        [--batch N] [--loss K] [--next-weight W] [--rtol R]
    train_step.py run INIT.safetensors RUNDIR DATASET_DIR PLAN.txt --optimizer sgd|adam|adamw
        [--lr X] [--momentum X] [--beta1 X] [--beta2 X] [--eps X] [--weight-decay X]
        [--clip X] [--loss K] [--next-weight W] [--rtol R]

``grad`` takes the first N strings of SPLIT as one batch (as tests/reference/grad_dump does),
computes loss.backward() and compares every gradient and the loss with GRADS.safetensors.

``run`` starts from INIT.safetensors (``satprobe init`` with the run's config and seed), takes
step s's batch from line s of PLAN.txt (example indices into the train split, written by
``grad_dump --plan``), does one torch.optim step per line and compares the parameters with
RUNDIR/model.safetensors, the per-step losses with RUNDIR/train.csv, and the initial
parameters' norm with the step-0 row of RUNDIR/norms.csv (that the run started from INIT).

Comparison: a value a (satprobe) passes against b (torch) when

    |a - b| <= R * (|b| + rms(tensor) + 1e-3 * rms(all))

with rms(tensor) the root-mean-square of torch's values of that tensor and rms(all) of every
value of the comparison (all gradients, or all parameters). The middle term judges values near
0 on their tensor's scale; the last one covers tensors whose exact gradient is 0 and which hold
only rounding noise (layers.*.attn.k.bias: softmax ignores a shift common to all keys). The
default R is 1e-4. In ``run`` with Adam or AdamW, layers.*.attn.k.bias is only held to
|a - b| <= 2 lr steps: its gradient is rounding noise, which Adam turns into steps of order lr
(the gradient check covers that tensor). A parameter the loss does not reach (the accept head
under the predict loss) gets a zero gradient in torch, as in satprobe, so that weight decay
applies to it. Per tensor, the largest absolute and relative (to the bound's scale)
difference are printed. Exit status 0 when all pass, 1 otherwise, 2 on usage errors.
"""

import argparse
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import forward  # noqa: E402  (its safetensors reader and Config)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(1)
DT = torch.float32


# --------------------------------------------------------------------------------------------
# the model


class Lin(nn.Module):
    """y = x W^T + b (PyTorch's nn.Linear convention), b optional."""

    def __init__(self, rows, cols, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(rows, cols, dtype=DT))
        self.bias = nn.Parameter(torch.zeros(rows, dtype=DT)) if bias else None

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)


class LN(nn.Module):
    def __init__(self, d, bias, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d, dtype=DT))
        self.bias = nn.Parameter(torch.zeros(d, dtype=DT)) if bias else None
        self.eps = eps

    def forward(self, x):
        return F.layer_norm(x, (x.shape[-1],), self.weight, self.bias, self.eps)


class Table(nn.Module):
    def __init__(self, rows, cols):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(rows, cols, dtype=DT))


class Attn(nn.Module):
    def __init__(self, d, bias):
        super().__init__()
        self.q, self.k, self.v, self.o = (Lin(d, d, bias) for _ in range(4))


class FF(nn.Module):
    def __init__(self, d, dff, bias):
        super().__init__()
        self.w1 = Lin(dff, d, bias)
        self.w2 = Lin(d, dff, bias)


class Layer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D, b, eps = cfg.d_model, cfg.bias, cfg.ln_eps
        if cfg.norm != "none":
            self.ln1 = LN(D, b, eps)
        self.attn = Attn(D, b)
        if cfg.norm != "none":
            self.ln2 = LN(D, b, eps)
        self.ff = FF(D, cfg.d_ff, b)


class Transformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed = Table(cfg.vocab, cfg.d_e)
        if "learned" in cfg.pos:
            self.pos = Table(cfg.max_len, cfg.d_e)
        self.layers = nn.ModuleList(Layer(cfg) for _ in range(cfg.layers))
        if cfg.norm == "pre":
            self.ln_f = LN(cfg.d_model, cfg.bias, cfg.ln_eps)
        if cfg.heads_out in ("recognize", "both"):
            self.readout = Lin(1, cfg.d_model, cfg.bias)
        if cfg.heads_out in ("predict", "both"):
            setattr(self, "next", Lin(cfg.k + 1, cfg.d_model, cfg.bias))

    def mha(self, attn, a, vis):
        cfg = self.cfg
        B, T, D = a.shape
        NH, dh = cfg.heads, cfg.d_h

        def split(x):
            return x.view(B, T, NH, dh).transpose(1, 2)  # [B, NH, T, dh]

        q, k, v = split(attn.q(a)), split(attn.k(a)), split(attn.v(a))
        s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(dh)
        s = s.masked_fill(~vis[:, None], float("-inf"))
        w = torch.softmax(s, dim=-1)
        z = torch.matmul(w, v).transpose(1, 2).reshape(B, T, D)
        return attn.o(z)

    def forward(self, batch):
        """batch: list of token lists. Returns (accept logits [B] or None, list of [n+1, k+1]
        next-symbol logits or None)."""
        cfg = self.cfg
        B = len(batch)
        lens = [len(t) for t in batch]
        T = max(lens)
        tok = torch.tensor([t + [0] * (T - len(t)) for t in batch], dtype=torch.long)
        x = self.embed.weight[tok]  # [B, T, De]
        if "sinusoidal" in cfg.pos:
            x = x + torch.from_numpy(forward.sinusoids(T, cfg.d_e).astype(np.float32))[None]
        if "learned" in cfg.pos:
            x = x + self.pos.weight[:T][None]
        feats = []
        p = np.arange(1, T + 1, dtype=np.float64)
        for f in cfg.features:
            col = np.stack([forward.feature(f, p, float(N)) for N in lens])  # [B, T]
            feats.append(torch.from_numpy(col.astype(np.float32))[:, :, None])
        h = torch.cat([x] + feats, dim=2)
        j = torch.arange(T)
        vis = j[None, None, :] < torch.tensor(lens)[:, None, None]  # key j < T_b
        vis = vis.expand(B, T, T)
        if cfg.mask == "causal":
            vis = vis & (j[None, :, None] >= j[None, None, :])
        for layer in self.layers:
            if cfg.norm == "pre":
                h = h + self.mha(layer.attn, layer.ln1(h), vis)
                h = h + layer.ff.w2(F.relu(layer.ff.w1(layer.ln2(h))))
            elif cfg.norm == "post":
                h = layer.ln1(h + self.mha(layer.attn, h, vis))
                h = layer.ln2(h + layer.ff.w2(F.relu(layer.ff.w1(h))))
            else:
                h = h + self.mha(layer.attn, h, vis)
                h = h + layer.ff.w2(F.relu(layer.ff.w1(h)))
        if cfg.norm == "pre":
            h = self.ln_f(h)
        logits = nxt = None
        if cfg.heads_out in ("recognize", "both"):
            if cfg.readout == "mean":
                r = torch.stack([h[b, :lens[b]].mean(dim=0) for b in range(B)])
            else:
                r = torch.stack([h[b, lens[b] - 1] for b in range(B)])
            logits = self.readout(r)[:, 0]
        if cfg.heads_out in ("predict", "both"):
            n = [L - (2 if cfg.readout == "cls" else 1) for L in lens]
            nxt = [getattr(self, "next")(h[b, :n[b] + 1]) for b in range(B)]
        return logits, nxt


def load_model(path):
    metadata, tensors = forward.read_safetensors(path)
    cfg = forward.Config(json.loads(metadata["config"]))
    model = Transformer(cfg)
    names = [n for n, _ in model.named_parameters()]
    if names != list(tensors):
        raise SystemExit("train_step.py: parameters %s, checkpoint %s" % (names, list(tensors)))
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.from_numpy(np.array(tensors[name], dtype=np.float32)))
    return model


# --------------------------------------------------------------------------------------------
# data and loss


def load_split(dataset_dir, split, cfg):
    """Examples of a JSONL split: (tokens, n, label, target [n+1, k+1] or None)."""
    manifest = json.load(open(os.path.join(dataset_dir, "manifest.json")))
    loc = [s["location"] for s in manifest["splits"] if s["name"] == split][0]
    index = {s: i for i, s in enumerate(cfg.alphabet)}
    out = []
    for line in open(os.path.join(dataset_dir, loc)):
        obj = json.loads(line)
        syms = obj["string"].split(" ") if obj["string"] else []
        tok = [cfg.bos] + [index[s] for s in syms] + ([cfg.cls] if cfg.readout == "cls" else [])
        target = None
        if obj.get("next") is not None:
            target = np.zeros((len(syms) + 1, cfg.k + 1), dtype=np.float32)
            for t, row in enumerate(obj["next"]):
                for s in row:
                    target[t, index[s]] = 1
                target[t, cfg.k] = 1.0 if obj["end"][t] else 0.0
        out.append((tok, len(syms), bool(obj["label"]), target))
    return out


def batch_loss(model, examples, kind, next_weight):
    logits, nxt = model([e[0] for e in examples])
    loss = torch.zeros((), dtype=DT)
    if kind != "predict":
        y = torch.tensor([1.0 if e[2] else 0.0 for e in examples], dtype=DT)
        loss = loss + F.binary_cross_entropy_with_logits(logits, y, reduction="mean")
    if kind != "recognize":
        w = next_weight if kind == "both" else 1.0
        total = torch.zeros((), dtype=DT)
        count = 0
        for b, e in enumerate(examples):
            if e[2]:
                total = total + F.binary_cross_entropy_with_logits(
                    nxt[b], torch.from_numpy(e[3]), reduction="sum")
                count += nxt[b].numel()
        if count:
            loss = loss + w * (total / count)
    return loss


def loss_kind(cfg, given):
    if given:
        return given
    return {"recognize": "recognize", "predict": "predict", "both": "both"}[cfg.heads_out]


# --------------------------------------------------------------------------------------------
# comparison


def compare(what, got, ref, rtol, noise_atol=None):
    """got, ref: dicts name -> numpy array (same names). Prints one line per tensor; returns
    whether all pass. noise_atol: an absolute bound for the tensors whose exact gradient is 0
    (see cmd_run), instead of rtol."""
    allv = np.concatenate([np.asarray(v, np.float64).ravel() for v in ref.values()])
    rms_all = float(np.sqrt(np.mean(allv ** 2))) if allv.size else 0.0
    ok = True
    worst = (0.0, None)
    for name in ref:
        b = np.asarray(ref[name], np.float64)
        a = np.asarray(got[name], np.float64)
        if a.shape != b.shape:
            print("MISMATCH %s %s: shape %s, torch %s" % (what, name, a.shape, b.shape))
            ok = False
            continue
        rms = float(np.sqrt(np.mean(b ** 2))) if b.size else 0.0
        scale = np.abs(b) + rms + 1e-3 * rms_all
        d = np.abs(a - b)
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(d == 0, 0.0, d / np.where(scale > 0, scale, 1e-300))
        r = float(rel.max()) if rel.size else 0.0
        if noise_atol is not None and name.endswith(".attn.k.bias"):
            dm = float(d.max()) if d.size else 0.0
            bad = dm > noise_atol
            print("%s %-28s max |diff| %.3g  (exact gradient 0: bound %.3g)%s"
                  % (what, name, dm, noise_atol, "  MISMATCH" if bad else ""))
            ok = ok and not bad
            continue
        bad = r > rtol
        print("%s %-28s max |diff| %.3g  rms %.3g  max rel %.3g%s"
              % (what, name, float(d.max()) if d.size else 0.0, rms, r, "  MISMATCH" if bad else ""))
        if bad:
            i = np.unravel_index(int(np.argmax(rel)), rel.shape)
            print("    at %s: satprobe %.9g, torch %.9g" % (list(i), a[i], b[i]))
            ok = False
        if r >= worst[0]:
            worst = (r, name)
    print("%s: largest relative difference %.3g (%s)" % (what, worst[0], worst[1]))
    return ok


# --------------------------------------------------------------------------------------------


def cmd_grad(args):
    model = load_model(args.model)
    cfg = model.cfg
    examples = load_split(args.data, args.split, cfg)[:args.batch]
    kind = loss_kind(cfg, args.loss)
    loss = batch_loss(model, examples, kind, args.next_weight)
    loss.backward()
    md, dumped = forward.read_safetensors(args.grads)
    if md.get("loss_kind") != kind:
        print("MISMATCH: grad_dump used loss %s, torch %s" % (md.get("loss_kind"), kind))
        return 1
    ref = {n: p.grad.numpy() if p.grad is not None else np.zeros(p.shape, np.float32)
           for n, p in model.named_parameters()}
    missing = [n for n in ref if n not in dumped]
    if missing or set(dumped) != set(ref) | {"loss"}:
        print("MISMATCH: tensors differ: %s" % sorted(set(dumped) ^ (set(ref) | {"loss"})))
        return 1
    lt, ls = float(loss), float(md["loss"])
    lrel = abs(ls - lt) / max(abs(lt), 1e-12)
    print("loss satprobe %.9g torch %.9g rel %.3g (%s, batch %d)" % (ls, lt, lrel, kind, len(examples)))
    ok = lrel <= args.rtol
    ok = compare("grad", {n: dumped[n] for n in ref}, ref, args.rtol) and ok
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


def cmd_run(args):
    model = load_model(args.init)
    cfg = model.cfg
    init_norm = math.sqrt(sum(float((p.detach().double() ** 2).sum()) for p in model.parameters()))
    train = load_split(args.data, "train", cfg)
    plan = [[int(x) for x in line.split()] for line in open(args.plan) if line.strip()]
    kind = loss_kind(cfg, args.loss)
    params = list(model.parameters())
    o = args.optimizer
    if o == "sgd":
        opt = torch.optim.SGD(params, lr=args.lr, momentum=args.momentum,
                              weight_decay=args.weight_decay, foreach=False)
    elif o == "adam":
        opt = torch.optim.Adam(params, lr=args.lr, betas=(args.beta1, args.beta2), eps=args.eps,
                               weight_decay=args.weight_decay, foreach=False)
    else:
        opt = torch.optim.AdamW(params, lr=args.lr, betas=(args.beta1, args.beta2), eps=args.eps,
                                weight_decay=args.weight_decay, foreach=False)
    losses = []
    for idx in plan:
        opt.zero_grad()
        loss = batch_loss(model, [train[i] for i in idx], kind, args.next_weight)
        loss.backward()
        for p in params:  # a head the loss does not use: gradient 0 (torch.optim would skip it)
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        if args.clip > 0:
            torch.nn.utils.clip_grad_norm_(params, args.clip)
        opt.step()
        losses.append(float(loss))

    ok = True
    # the run started from INIT: its step-0 norm, as norms.csv writes it (%.9g)
    rows = [line.split(",") for line in open(os.path.join(args.run, "norms.csv")).read().splitlines()[1:]]
    n0 = float(rows[0][1])
    r = abs(n0 - init_norm) / init_norm
    print("initial norm: run %.9g, %s %.9g (rel %.3g)" % (n0, os.path.basename(args.init), init_norm, r))
    if rows[0][0] != "0" or r > 1e-7:
        print("MISMATCH: the run did not start from %s" % args.init)
        ok = False
    csv = [line.split(",") for line in open(os.path.join(args.run, "train.csv")).read().splitlines()[1:]]
    if len(csv) != len(plan):
        print("MISMATCH: train.csv has %d steps, the plan %d" % (len(csv), len(plan)))
        ok = False
    lworst = 0.0
    for s, row in enumerate(csv[:len(losses)]):
        a, b = float(row[1]), losses[s]
        rel = abs(a - b) / max(abs(b), 1e-12)
        lworst = max(lworst, rel)
        if rel > args.rtol:
            print("MISMATCH: step %d loss: run %.9g, torch %.9g" % (s + 1, a, b))
            ok = False
    print("losses of %d steps: largest relative difference %.3g" % (len(losses), lworst))
    _, final = forward.read_safetensors(os.path.join(args.run, "model.safetensors"))
    ref = {n: p.detach().numpy() for n, p in model.named_parameters()}
    # The exact gradient of layers.*.attn.k.bias is 0 (a shift common to all keys); what both
    # sides hold is rounding noise, which Adam normalises into steps of up to lr. Those tensors
    # are only checked to stay within 2 lr per step of each other.
    noise = 2 * args.lr * len(plan) if o != "sgd" else None
    ok = compare("param", final, ref, args.rtol, noise) and ok
    moved = max(float(np.abs(ref[n] - forward.read_safetensors(args.init)[1][n]).max()) for n in ref)
    print("parameters moved by up to %.3g over %d %s steps" % (moved, len(plan), o))
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


def main(argv):
    ap = argparse.ArgumentParser(prog="train_step.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("grad")
    g.add_argument("model")
    g.add_argument("grads")
    g.add_argument("data")
    g.add_argument("split")
    g.add_argument("--batch", type=int, default=8)
    r = sub.add_parser("run")
    r.add_argument("init")
    r.add_argument("run")
    r.add_argument("data")
    r.add_argument("plan")
    r.add_argument("--optimizer", choices=("sgd", "adam", "adamw"), required=True)
    r.add_argument("--lr", type=float, default=1e-3)
    r.add_argument("--momentum", type=float, default=0.9)
    r.add_argument("--beta1", type=float, default=0.9)
    r.add_argument("--beta2", type=float, default=0.999)
    r.add_argument("--eps", type=float, default=1e-8)
    r.add_argument("--weight-decay", type=float, default=0.01)
    r.add_argument("--clip", type=float, default=0.0)
    for p in (g, r):
        p.add_argument("--loss", choices=("recognize", "predict", "both"))
        p.add_argument("--next-weight", type=float, default=1.0)
        p.add_argument("--rtol", type=float, default=1e-4)
    args = ap.parse_args(argv)
    return cmd_grad(args) if args.cmd == "grad" else cmd_run(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
