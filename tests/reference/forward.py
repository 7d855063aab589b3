#!/usr/bin/env python3
"""Reference forward pass of satprobe's transformer, in numpy (float64), and a cross-check.

This is an independent implementation of docs/model.md, written against the documentation
alone: it reads a checkpoint (docs/checkpoints.md) by hand, rebuilds the model from the
configuration stored in its ``__metadata__``, recomputes every logit that
``satprobe eval --predictions`` wrote, and compares.

Usage::

    /usr/bin/python3 tests/reference/forward.py MODEL.safetensors PREDICTIONS.jsonl
        [--tie-tolerance T] [--rtol R] [--tie-rel E] [--noise-factor K] [--noise-runs N]
        [--no-torch] [--torch-strings N] [--show N]
    /usr/bin/python3 tests/reference/forward.py --self-test

Each line of PREDICTIONS.jsonl is ``{"string", "label", "length", "bin", "logit": {MODE: x}}``,
with ``"next_logits": {MODE: [[k+1 numbers] per position 0..n]}`` for predict heads. For every
line and every mode named in ``logit`` / ``next_logits`` (``soft``, ``scaled:C``, ``saturated``,
``hard``, ``limit``) the forward pass is recomputed in float64 and each number compared. The
script prints the number of strings, the strings checked per mode, per mode and head the number
of values, their RMS and the largest relative difference, the strings skipped for near ties,
and the largest relative difference overall.

Comparison
    The relative difference of a value a (from the file) against the reference b is

        |a - b| / max(|b|, s)

    where s is the root-mean-square of all reference values of the same mode and the same head
    (the accept logits of ``soft`` form one group, the next-symbol logits of ``soft`` another,
    and so on), taken over the strings that were compared. A logit near 0 is thus judged on
    the scale of its group instead of blowing up the ratio. A value passes when this is at most
    ``--rtol`` (default 1e-5).

    Float32 cannot always do that well: under ``scaled:C`` the scores are about C^4 times
    larger, so their rounding moves softmax weights by far more than 1e-5 where scores are
    close. A value beyond rtol therefore gets a rounding-noise estimate: ``--noise-runs``
    (default 8) more float64 passes in which every parameter and intermediate array is
    multiplied by 1 + u 2^-24, u uniform in [-1, 1] (what storing it in float32 may do), and
    the largest change of that value among them. The value still passes when |a - b| is at most
    ``--noise-factor`` (default 50) times that estimate; the output counts such values. Where
    scores nearly tie at a large scale, rounding can tip the softmax one way or the other and
    only some runs take the other branch: a value the first runs do not explain gets 120 more
    (for at most 32 strings and modes) before it counts as a mismatch.
    A bug moves a logit by far more than float32 rounding does, except where the string is so
    ill-conditioned that no float32 result could be checked more closely. ``--noise-factor 0``
    turns this off.

Near ties
    ``saturated``, ``hard`` and ``limit`` attention keep, for each query i, the set
    M = {j : s_ij >= max_j s_ij - tau}. A score whose gap g to the row maximum lies within
    rounding of tau can fall on either side of the threshold (the binary computes in float32,
    this script in float64), and then the two legitimately disagree. A string is skipped in
    such a mode, and counted as skipped, when for any layer, head and query some visible score
    other than the row maximum has

        |g - tau| <= E * |q_i| * max_j |k_j| / sqrt(d_h)

    (E = ``--tie-rel``, default 1e-6, well above the float32 rounding of a score, which is
    bounded by a few 2^-24 times |q_i| |k_j| / sqrt(d_h)), or when a layer norm with eps = 0
    meets a variance that is positive but below 1e-12 of the mean square (float32 could have
    rounded it to exactly zero, or away from it). Exact ties (g = 0) are not near ties when
    tau is above that bound: both sides keep every tied position. ``--tie-tolerance`` must be
    the tau the predictions were made with (default 1e-5, as ``satprobe eval``).

PyTorch
    When ``import torch`` works (and ``--no-torch`` is not given), the same forward pass is
    also computed for the first ``--torch-strings`` (default 50) strings of each mode by a
    second, separate implementation in torch (float64, ``torch.nn.functional``), and every
    value of it must agree with numpy to 1e-9 relative (same scale as above), or, for a value
    with a rounding-noise estimate, to 1e-6 of that estimate (float64 rounds 2^29 times finer
    than float32); a disagreement fails the run.

Exit status: 0 when every compared value is within tolerance, 1 when one is not (the first
``--show`` mismatches are printed) or the checkpoint or predictions are malformed, 2 on usage
errors (bad arguments, unreadable files).

``--self-test`` runs built-in checks of this script (safetensors reading and writing, a model
computed by hand, uniform attention from zero scores, saturated equal to soft when every score
ties, hard attention taking the leftmost maximum, zero-variance layer norm, scaled:C / C^k
tending to limit, the comparison passing on exact values and failing on changed ones) and
exits 0 or 1.
"""

import argparse
import json
import math
import os
import struct
import sys
import tempfile

import numpy as np

SP_ST_MAX_HEADER = 100 * 1000 * 1000


class CheckError(Exception):
    """A malformed checkpoint or predictions file, or a model the documentation rejects."""


class UsageError(Exception):
    """Bad command-line arguments or an unreadable file."""


# --------------------------------------------------------------------------------------------
# safetensors


def _no_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise CheckError("duplicate name %r in the header" % key)
        obj[key] = value
    return obj


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def parse_safetensors(data, where="checkpoint"):
    """Parse the bytes of a safetensors file.

    Returns (metadata, tensors): metadata is a dict of strings (empty without ``__metadata__``),
    tensors a dict name -> float32 numpy array of the tensor's shape, in the order of their data
    offsets. Raises CheckError naming the problem, as docs/checkpoints.md lists the checks.
    """
    if len(data) < 8:
        raise CheckError("%s: shorter than 8 bytes" % where)
    (n,) = struct.unpack("<Q", data[:8])
    if n > SP_ST_MAX_HEADER:
        raise CheckError("%s: header length %d exceeds %d" % (where, n, SP_ST_MAX_HEADER))
    if 8 + n > len(data):
        raise CheckError("%s: header length %d goes beyond the end of the file (%d bytes)"
                         % (where, n, len(data)))
    raw = data[8:8 + n]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CheckError("%s: header is not UTF-8: %s" % (where, e))
    if not text.startswith("{"):
        raise CheckError("%s: header does not start with '{'" % where)
    try:
        header = json.loads(text.rstrip(" "), object_pairs_hook=_no_duplicates)
    except ValueError as e:
        raise CheckError("%s: header is not one JSON object: %s" % (where, e))
    if not isinstance(header, dict):
        raise CheckError("%s: header is not a JSON object" % where)

    metadata = {}
    if "__metadata__" in header:
        md = header.pop("__metadata__")
        if not isinstance(md, dict):
            raise CheckError("%s: __metadata__ is not an object" % where)
        for key, value in md.items():
            if not isinstance(value, str) or "\0" in value:
                raise CheckError("%s: __metadata__[%r] is not a string without NUL" % (where, key))
        metadata = md

    data_len = len(data) - 8 - n
    entries = []
    for name, entry in header.items():
        if name == "":
            raise CheckError("%s: empty tensor name" % where)
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise CheckError("%s: tensor %s: entry must have exactly dtype, shape, data_offsets"
                             % (where, name))
        if entry["dtype"] != "F32":
            raise CheckError("%s: tensor %s: dtype %r is not F32" % (where, name, entry["dtype"]))
        shape = entry["shape"]
        if (not isinstance(shape, list) or len(shape) > 4
                or not all(_is_int(d) and d >= 0 for d in shape)):
            raise CheckError("%s: tensor %s: bad shape %r" % (where, name, shape))
        offs = entry["data_offsets"]
        if (not isinstance(offs, list) or len(offs) != 2
                or not all(_is_int(o) and o >= 0 for o in offs) or offs[0] > offs[1]):
            raise CheckError("%s: tensor %s: bad data_offsets %r" % (where, name, offs))
        count = 1
        for d in shape:
            count *= d
        if count * 4 != offs[1] - offs[0]:
            raise CheckError("%s: tensor %s: shape %r needs %d bytes, data_offsets give %d"
                             % (where, name, shape, count * 4, offs[1] - offs[0]))
        entries.append((offs[0], offs[1], name, tuple(shape)))

    entries.sort()
    cursor = 0
    for begin, end, name, _ in entries:
        if begin < cursor:
            raise CheckError("%s: tensor %s: data_offsets [%d, %d] overlap another tensor"
                             % (where, name, begin, end))
        if begin > cursor:
            raise CheckError("%s: tensor %s: gap before data_offsets [%d, %d]"
                             % (where, name, begin, end))
        cursor = end
    if cursor != data_len:
        raise CheckError("%s: tensors end at %d but the data section has %d bytes"
                         % (where, cursor, data_len))

    base = 8 + n
    tensors = {}
    for begin, end, name, shape in entries:
        arr = np.frombuffer(data, dtype="<f4", count=(end - begin) // 4, offset=base + begin)
        tensors[name] = arr.astype(np.float32).reshape(shape)
    return metadata, tensors


def read_safetensors(path):
    """Read a safetensors file; see parse_safetensors."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise UsageError("%s: %s" % (path, e.strerror))
    return parse_safetensors(data, path)


def encode_safetensors(tensors, metadata=None):
    """Bytes of a safetensors file holding ``tensors`` (list of (name, array)) in that order,
    laid out as satprobe writes them (header padded with spaces to a multiple of 8)."""
    header = {}
    if metadata:
        header["__metadata__"] = dict(metadata)
    offset = 0
    blobs = []
    for name, arr in tensors:
        arr = np.asarray(arr, dtype="<f4")
        blob = arr.tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


# --------------------------------------------------------------------------------------------
# configuration

POS_FEATURES = ("i", "i/n", "1/i", "cos(pi*i)")
POS_KINDS = ("none", "sinusoidal", "learned") + POS_FEATURES
CONFIG_KEYS = ("alphabet", "d_model", "layers", "heads", "d_ff", "norm", "bias", "mask",
               "readout", "pos", "heads_out", "max_len", "ln_eps")


class Config:
    """A model configuration (docs/model.md, "Configuration"), defaults filled in."""

    def __init__(self, obj):
        if not isinstance(obj, dict):
            raise CheckError("config is not a JSON object")
        for key in obj:
            if key not in CONFIG_KEYS:
                raise CheckError("config: unknown key %r" % key)

        def get(key, default):
            return obj[key] if key in obj else default

        def integer(key, default, lo, hi):
            v = get(key, default)
            if not _is_int(v) or not lo <= v <= hi:
                raise CheckError("config: %s = %r is not an integer in %d..%d" % (key, v, lo, hi))
            return v

        def choice(key, default, options):
            v = get(key, default)
            if v not in options:
                raise CheckError("config: %s = %r is not one of %s" % (key, v, ", ".join(options)))
            return v

        alphabet = obj.get("alphabet")
        if (not isinstance(alphabet, list) or not alphabet
                or not all(isinstance(s, str) and s for s in alphabet)
                or len(set(alphabet)) != len(alphabet)):
            raise CheckError("config: alphabet %r is not a list of distinct symbols" % (alphabet,))
        self.alphabet = alphabet
        self.k = len(alphabet)
        self.d_model = integer("d_model", 64, 1, 4096)
        self.layers = integer("layers", 2, 0, 64)
        self.heads = integer("heads", 4, 1, 64)
        if self.d_model % self.heads:
            raise CheckError("config: heads = %d does not divide d_model = %d"
                             % (self.heads, self.d_model))
        self.d_ff = integer("d_ff", 4 * self.d_model, 1, 16384)
        self.norm = choice("norm", "pre", ("pre", "post", "none"))
        self.bias = get("bias", True)
        if not isinstance(self.bias, bool):
            raise CheckError("config: bias = %r is not true or false" % (self.bias,))
        self.mask = choice("mask", "causal", ("causal", "none"))
        self.readout = choice("readout", "cls", ("cls", "last", "mean"))
        pos = get("pos", ["sinusoidal"])
        if isinstance(pos, str):
            pos = [pos]
        if not isinstance(pos, list) or not pos or not all(p in POS_KINDS for p in pos):
            raise CheckError("config: pos = %r is not a list of %s" % (pos, ", ".join(POS_KINDS)))
        if len(set(pos)) != len(pos):
            raise CheckError("config: pos = %r lists an entry twice" % (pos,))
        if "none" in pos and len(pos) > 1:
            raise CheckError("config: pos none listed with another entry")
        self.pos = pos
        self.features = [p for p in pos if p in POS_FEATURES]
        self.heads_out = choice("heads_out", "recognize", ("recognize", "predict", "both"))
        self.max_len = integer("max_len", 512, 1, 100000)
        eps = get("ln_eps", 1e-5)
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 <= eps < 1:
            raise CheckError("config: ln_eps = %r is not in [0, 1)" % (eps,))
        self.ln_eps = float(eps)
        self.d_e = self.d_model - len(self.features)
        if self.d_e < 1:
            raise CheckError("config: d_model = %d leaves no embedding channel beside %d features"
                             % (self.d_model, len(self.features)))
        self.d_h = self.d_model // self.heads
        self.vocab = self.k + 2
        self.bos = self.k
        self.cls = self.k + 1

    def expected_tensors(self):
        """(name, shape) of every parameter tensor, in checkpoint order."""
        D, b = self.d_model, self.bias
        out = [("embed.weight", (self.vocab, self.d_e))]
        if "learned" in self.pos:
            out.append(("pos.weight", (self.max_len, self.d_e)))

        def ln(name):
            if self.norm in ("pre", "post"):
                out.append((name + ".weight", (D,)))
                if b:
                    out.append((name + ".bias", (D,)))

        def linear(name, rows, cols):
            out.append((name + ".weight", (rows, cols)))
            if b:
                out.append((name + ".bias", (rows,)))

        for l in range(self.layers):
            p = "layers.%d." % l
            ln(p + "ln1")
            for m in "qkvo":
                linear(p + "attn." + m, D, D)
            ln(p + "ln2")
            linear(p + "ff.w1", self.d_ff, D)
            linear(p + "ff.w2", D, self.d_ff)
        if self.norm == "pre":
            out.append(("ln_f.weight", (D,)))
            if b:
                out.append(("ln_f.bias", (D,)))
        if self.heads_out in ("recognize", "both"):
            linear("readout", 1, D)
        if self.heads_out in ("predict", "both"):
            linear("next", self.k + 1, D)
        return out


class Model:
    """A checkpoint: its configuration and its parameters as float64 arrays."""

    def __init__(self, cfg, tensors, strict_order=True):
        self.cfg = cfg
        expected = cfg.expected_tensors()
        names = [n for n, _ in expected]
        for name in tensors:
            if name not in names:
                raise CheckError("tensor %s is not part of this configuration" % name)
        for name, shape in expected:
            if name not in tensors:
                raise CheckError("tensor %s is missing" % name)
            if tuple(tensors[name].shape) != shape:
                raise CheckError("tensor %s has shape %s, the configuration needs %s"
                                 % (name, list(tensors[name].shape), list(shape)))
        if strict_order and list(tensors) != names:
            raise CheckError("tensors are not laid out in the documented order: %s, expected %s"
                             % (", ".join(tensors), ", ".join(names)))
        self.params = {n: np.asarray(tensors[n], dtype=np.float64) for n in names}
        self.sym_index = {s: i for i, s in enumerate(cfg.alphabet)}

    @classmethod
    def load(cls, path):
        metadata, tensors = read_safetensors(path)
        if "config" not in metadata:
            raise CheckError("%s: __metadata__ has no config" % path)
        try:
            obj = json.loads(metadata["config"])
        except ValueError as e:
            raise CheckError("%s: __metadata__ config is not JSON: %s" % (path, e))
        try:
            return cls(Config(obj), tensors)
        except CheckError as e:
            raise CheckError("%s: %s" % (path, e))

    def tokens(self, string):
        """Token ids of a string of space-separated symbols (docs/model.md, "Tokens")."""
        syms = string.split(" ") if string != "" else []
        try:
            ids = [self.sym_index[s] for s in syms]
        except KeyError as e:
            raise CheckError("symbol %s is not in the alphabet %s" % (e, self.cfg.alphabet))
        seq = [self.cfg.bos] + ids
        if self.cfg.readout == "cls":
            seq.append(self.cfg.cls)
        return seq, len(ids)


# --------------------------------------------------------------------------------------------
# modes


class Mode:
    """An evaluation mode: soft, scaled:C, saturated, hard or limit; tau is the tie tolerance
    of the last three."""

    def __init__(self, name, tau):
        self.name = name
        self.tau = tau
        self.scale = 1.0
        if name in ("soft", "saturated", "hard", "limit"):
            self.kind = name
        elif name.startswith("scaled:"):
            self.kind = "scaled"
            try:
                self.scale = float(name[len("scaled:"):])
            except ValueError:
                raise CheckError("mode %r: C is not a number" % name)
            if not (self.scale > 0 and math.isfinite(self.scale)):
                raise CheckError("mode %r: C must be positive" % name)
        else:
            raise CheckError("unknown mode %r" % name)

    @property
    def saturating(self):
        """Attention over M = {j : s_j >= max - tau} and eps = 0 in every layer norm."""
        return self.kind in ("saturated", "hard", "limit")


# --------------------------------------------------------------------------------------------
# numpy forward pass


def sinusoids(T, d_e):
    """S[t, 2j] = sin(t / 10000^(2j/d_e)), S[t, 2j+1] = cos(same), for t < T, channels < d_e."""
    t = np.arange(T, dtype=np.float64)[:, None]
    c = np.arange(d_e)
    freq = np.power(10000.0, (2 * (c // 2)) / d_e)
    ang = t / freq[None, :]
    return np.where((c % 2) == 0, np.sin(ang), np.cos(ang))


def feature(kind, p, N):
    """Position feature column for 1-based positions p (array) in a sequence of N positions."""
    if kind == "i":
        return p
    if kind == "i/n":
        return p / N
    if kind == "1/i":
        return 1.0 / p
    if kind == "cos(pi*i)":
        return np.where(p.astype(np.int64) % 2 == 0, 1.0, -1.0)
    raise AssertionError(kind)


class Result:
    """Outputs of one forward pass: the accept logit (or None), the next-symbol logits
    ([n+1, k+1] or None), whether a near tie made a saturated/hard/limit result unreliable, and
    optionally the attention weights per layer ([heads, T, T])."""

    def __init__(self):
        self.logit = None
        self.next = None
        self.ambiguous = False
        self.attention = []


UNIT_ROUNDOFF = 2.0 ** -24  # float32
NOISE_MORE = 120     # extra jittered runs where the first ones do not explain a difference
NOISE_EXTENDED = 32  # strings and modes that may get them
TORCH_RTOL = 1e-9    # torch float64 against numpy float64
TORCH_NOISE_SHARE = 1e-6  # ... or this share of the float32 noise estimate


def forward(model, tokens, n, mode, tie_rel=1e-6, keep_attention=False, jitter=None):
    """The forward pass of docs/model.md in float64 for one token sequence.

    ``limit`` is computed by tracking, for the residual stream, its degree d as a polynomial in
    C under C*theta and keeping only leading coefficients: the embedding (and learned
    positions) have degree 1, sinusoids and position features degree 0 and so vanish; a linear
    map turns degree d into d + 1, so its bias (degree 1 < d + 1) vanishes; a layer norm gives
    degree 1 (its weight and bias both scale with C) with eps = 0; ReLU and attention keep the
    degree, attention weights being uniform over the argmax set of the leading-coefficient
    scores; a residual sum keeps the terms of the highest degree. The logits are then the
    leading coefficients of f(x; C*theta).

    ``jitter``, a numpy Generator, turns on rounding-noise simulation: every parameter and every
    intermediate array (inputs, layer-norm and linear outputs, scores, attention weights,
    residual sums) is multiplied by 1 + u * 2^-24 with u uniform in [-1, 1], what storing it
    in float32 could do to it. Comparing such a run with the exact one shows how much float32
    rounding can move each output of this string (see ``check``)."""
    cfg = model.cfg
    T = len(tokens)
    if T > cfg.max_len:
        raise CheckError("sequence of %d positions exceeds max_len %d" % (T, cfg.max_len))
    C = mode.scale
    P = model.params

    if jitter is None:
        def J(a):
            return a
    else:
        def J(a):
            return a * (1.0 + UNIT_ROUNDOFF * jitter.uniform(-1.0, 1.0, np.shape(a)))

    def par(name):
        if name not in P:
            return None
        return J(P[name] * C if C != 1.0 else P[name])

    eps = 0.0 if mode.saturating else cfg.ln_eps
    limit = mode.kind == "limit"
    res = Result()
    D, NH, dh = cfg.d_model, cfg.heads, cfg.d_h
    tok = np.asarray(tokens, dtype=np.int64)

    # input; under limit only its degree-1 part (embedding and learned positions) remains
    x = par("embed.weight")[tok]
    if "sinusoidal" in cfg.pos and not limit:
        x = x + sinusoids(T, cfg.d_e)
    if "learned" in cfg.pos:
        x = x + par("pos.weight")[:T]
    p = np.arange(1, T + 1, dtype=np.float64)
    cols = [feature(f, p, float(T))[:, None] for f in cfg.features]
    if limit:
        cols = [np.zeros_like(c) for c in cols]
    h = J(np.concatenate([x] + cols, axis=1))
    deg = 1  # degree of h in C (used by limit only)
    assert h.shape == (T, D)

    def residual(a, da, b, db):
        """a + b, or under limit the term(s) of highest degree; returns (sum, degree)."""
        if not limit or da == db:
            return J(a + b), max(da, db)
        return (a, da) if da > db else (b, db)

    def layer_norm(v, name):
        mu = v.mean(axis=1, keepdims=True)
        var = ((v - mu) ** 2).mean(axis=1, keepdims=True)
        if eps == 0.0:
            ms = (v * v).mean(axis=1, keepdims=True)
            if np.any((var > 0) & (var <= 1e-12 * ms)):
                res.ambiguous = True
            safe = np.where(var > 0, var, 1.0)
            z = np.where(var > 0, (v - mu) / np.sqrt(safe), 0.0)
        else:
            z = (v - mu) / np.sqrt(var + eps)
        z = z * par(name + ".weight")
        b = par(name + ".bias")
        return J(z + b if b is not None else z)

    def linear(v, name):
        y = v @ par(name + ".weight").T
        b = par(name + ".bias")
        if limit:  # the input has degree >= 1, the product degree >= 2, the bias degree 1
            b = None
        return J(y + b if b is not None else y)

    visible = np.ones((T, T), dtype=bool)
    if cfg.mask == "causal":
        visible = np.tril(visible)

    def attention(a, pre):
        Q = linear(a, pre + "attn.q").reshape(T, NH, dh).transpose(1, 0, 2)
        K = linear(a, pre + "attn.k").reshape(T, NH, dh).transpose(1, 0, 2)
        V = linear(a, pre + "attn.v").reshape(T, NH, dh).transpose(1, 0, 2)
        s = J(Q @ K.transpose(0, 2, 1) / math.sqrt(dh))  # [NH, T, T]
        masked = np.where(visible[None], s, -np.inf)
        mx = masked.max(axis=2, keepdims=True)
        if mode.saturating:
            tau = mode.tau
            member = visible[None] & (s >= mx - tau)
            gap = mx - s
            qn = np.linalg.norm(Q, axis=2)  # [NH, T]
            kn = np.where(visible[None], np.linalg.norm(K, axis=2)[:, None, :], 0.0).max(axis=2)
            delta = (tie_rel * qn * kn / math.sqrt(dh))[:, :, None]
            near = np.abs(gap - tau) <= delta
            # the row's maximum itself is in M whatever the rounding
            top = np.zeros_like(near)
            np.put_along_axis(top, masked.argmax(axis=2)[:, :, None], True, axis=2)
            if np.any(visible[None] & near & ~top):
                res.ambiguous = True
            if mode.kind in ("saturated", "limit"):
                w = member / member.sum(axis=2, keepdims=True)
            else:
                first = member.argmax(axis=2)  # the smallest j in M
                w = np.zeros_like(s)
                hi, qi = np.meshgrid(np.arange(NH), np.arange(T), indexing="ij")
                w[hi, qi, first] = 1.0
        else:
            e = np.where(visible[None], np.exp(masked - mx), 0.0)
            w = e / e.sum(axis=2, keepdims=True)
        if keep_attention:
            res.attention.append(w)
        Z = J((J(w) @ V).transpose(1, 0, 2).reshape(T, D))
        return linear(Z, pre + "attn.o")

    def ff(a, pre):
        return linear(np.maximum(linear(a, pre + "ff.w1"), 0.0), pre + "ff.w2")

    # attention and the feed-forward sublayer each add 2 to their input's degree (two linear
    # maps); a layer norm's output has degree 1
    for l in range(cfg.layers):
        pre = "layers.%d." % l
        if cfg.norm == "pre":
            h, deg = residual(h, deg, attention(layer_norm(h, pre + "ln1"), pre), 3)
            h, deg = residual(h, deg, ff(layer_norm(h, pre + "ln2"), pre), 3)
        elif cfg.norm == "post":
            h, deg = residual(h, deg, attention(h, pre), deg + 2)
            h, deg = layer_norm(h, pre + "ln1"), 1
            h, deg = residual(h, deg, ff(h, pre), deg + 2)
            h, deg = layer_norm(h, pre + "ln2"), 1
        else:
            h, deg = residual(h, deg, attention(h, pre), deg + 2)
            h, deg = residual(h, deg, ff(h, pre), deg + 2)
    if cfg.norm == "pre":
        h, deg = layer_norm(h, "ln_f"), 1

    if cfg.heads_out in ("recognize", "both"):
        r = h.mean(axis=0) if cfg.readout == "mean" else h[T - 1]
        res.logit = float(linear(r[None, :], "readout")[0, 0])
    if cfg.heads_out in ("predict", "both"):
        res.next = linear(h[:n + 1], "next")
    return res


# --------------------------------------------------------------------------------------------
# torch forward pass (a second implementation, used when torch is importable)


_TORCH = {"enabled": True}


def have_torch():
    """Whether the torch implementation runs: torch importable and not --no-torch."""
    if not _TORCH["enabled"]:
        return False
    try:
        import torch
    except Exception:
        return False
    torch.set_num_threads(1)  # tiny matrices: threads only add overhead
    return True


def forward_torch(model, tokens, n, mode):
    """The forward pass written with torch.nn.functional in float64; returns (logit, next)
    with next a numpy array or None. Kept separate from the numpy code on purpose."""
    import torch
    import torch.nn.functional as F

    dt = torch.float64
    cfg = model.cfg
    C = mode.scale
    prm = {name: torch.from_numpy(np.array(v, dtype=np.float64)) * C
           for name, v in model.params.items()}

    def opt(name):
        return prm.get(name)

    T = len(tokens)
    D, NH, dh = cfg.d_model, cfg.heads, cfg.d_h
    eps = 0.0 if mode.saturating else cfg.ln_eps
    lim = mode.kind == "limit"

    with torch.no_grad():
        tok = torch.tensor(tokens, dtype=torch.long)
        x = F.embedding(tok, prm["embed.weight"])
        t = torch.arange(T, dtype=dt)
        if "sinusoidal" in cfg.pos and not lim:
            c = torch.arange(cfg.d_e)
            denom = torch.pow(torch.tensor(10000.0, dtype=dt), (2 * (c // 2)).to(dt) / cfg.d_e)
            ang = t[:, None] / denom[None, :]
            x = x + torch.where((c % 2 == 0)[None, :], torch.sin(ang), torch.cos(ang))
        if "learned" in cfg.pos:
            x = x + prm["pos.weight"][:T]
        pos1 = t + 1.0
        feats = []
        for f in cfg.features:
            if f == "i":
                feats.append(pos1)
            elif f == "i/n":
                feats.append(pos1 / T)
            elif f == "1/i":
                feats.append(1.0 / pos1)
            else:
                feats.append(torch.cos(math.pi * pos1).round())
        if lim:
            feats = [torch.zeros_like(v) for v in feats]
        h = torch.cat([x] + [v[:, None] for v in feats], dim=1)

        def ln(v, name):
            w, b = prm[name + ".weight"], opt(name + ".bias")
            if eps > 0:
                return F.layer_norm(v, (D,), w, b, eps)
            mu = v.mean(dim=-1, keepdim=True)
            var = ((v - mu) ** 2).mean(dim=-1, keepdim=True)
            pos_var = var > 0
            z = torch.where(pos_var, (v - mu) / torch.sqrt(torch.where(pos_var, var,
                                                                        torch.ones_like(var))),
                            torch.zeros_like(v))
            z = z * w
            return z + b if b is not None else z

        def lin(v, name):
            return F.linear(v, prm[name + ".weight"], None if lim else opt(name + ".bias"))

        def add(a, da, b, db):
            if lim and da != db:
                return (a, da) if da > db else (b, db)
            return a + b, max(da, db)

        vis = torch.ones(T, T, dtype=torch.bool)
        if cfg.mask == "causal":
            vis = torch.tril(vis)

        def mha(a, pre):
            q = lin(a, pre + "attn.q").view(T, NH, dh).transpose(0, 1)
            k = lin(a, pre + "attn.k").view(T, NH, dh).transpose(0, 1)
            v = lin(a, pre + "attn.v").view(T, NH, dh).transpose(0, 1)
            s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(dh)
            s = s.masked_fill(~vis, float("-inf"))
            if mode.saturating:
                top = s.amax(dim=-1, keepdim=True)
                m = vis & (s >= top - mode.tau)
                if mode.kind == "hard":
                    m = m & (torch.cumsum(m.to(torch.int64), dim=-1) == 1)  # leftmost only
                w = m.to(dt) / m.to(dt).sum(dim=-1, keepdim=True)
            else:
                w = torch.softmax(s, dim=-1)
            z = torch.matmul(w, v).transpose(0, 1).reshape(T, D)
            return lin(z, pre + "attn.o")

        def ffn(a, pre):
            return lin(F.relu(lin(a, pre + "ff.w1")), pre + "ff.w2")

        d = 1
        for l in range(cfg.layers):
            pre = "layers.%d." % l
            if cfg.norm == "pre":
                h, d = add(h, d, mha(ln(h, pre + "ln1"), pre), 3)
                h, d = add(h, d, ffn(ln(h, pre + "ln2"), pre), 3)
            elif cfg.norm == "post":
                h, d = add(h, d, mha(h, pre), d + 2)
                h, d = ln(h, pre + "ln1"), 1
                h, d = add(h, d, ffn(h, pre), d + 2)
                h, d = ln(h, pre + "ln2"), 1
            else:
                h, d = add(h, d, mha(h, pre), d + 2)
                h, d = add(h, d, ffn(h, pre), d + 2)
        if cfg.norm == "pre":
            h = ln(h, "ln_f")

        logit = nxt = None
        if cfg.heads_out in ("recognize", "both"):
            r = h.mean(dim=0) if cfg.readout == "mean" else h[T - 1]
            logit = float(lin(r[None, :], "readout")[0, 0])
        if cfg.heads_out in ("predict", "both"):
            nxt = lin(h[:n + 1], "next").numpy()
    return logit, nxt


# --------------------------------------------------------------------------------------------
# cross-check against a predictions file


class Group:
    """The values of one (mode, head) pair: what the file says, the reference, and for each
    value its origin (line, a label for messages, and how to find it in a forward result)."""

    def __init__(self):
        self.got = []
        self.ref = []
        self.origin = []  # (line index, message label, None for the logit or (t, c))


def read_predictions(path):
    try:
        with open(path, "r", encoding="utf-8") as f:
            lines = f.read().split("\n")
    except OSError as e:
        raise UsageError("%s: %s" % (path, e.strerror))
    except UnicodeDecodeError as e:
        raise CheckError("%s: not UTF-8: %s" % (path, e))
    if lines and lines[-1] == "":
        lines.pop()
    out = []
    for i, line in enumerate(lines, 1):
        try:
            obj = json.loads(line)
        except ValueError as e:
            raise CheckError("%s:%d: not JSON: %s" % (path, i, e))
        if not isinstance(obj, dict) or not isinstance(obj.get("string"), str):
            raise CheckError("%s:%d: not an object with a \"string\"" % (path, i))
        out.append((i, obj))
    return out


def _number(x):
    return _is_int(x) or isinstance(x, float)


def _relative(got, ref, scale):
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(scale > 0, np.abs(got - ref) / np.where(scale > 0, scale, 1.0),
                       np.where(got == ref, 0.0, np.inf))
    return np.where(np.isnan(rel), np.inf, rel)


def check(model_path, pred_path, tau, rtol, tie_rel, noise_factor, noise_runs, show,
          torch_strings=50):
    """Compare a predictions file against the reference; print a summary; return the exit
    status (0 all within tolerance, 1 otherwise)."""
    model = Model.load(model_path)
    cfg = model.cfg
    lines = read_predictions(pred_path)
    torch_ok = have_torch()
    recognize = cfg.heads_out in ("recognize", "both")
    predict = cfg.heads_out in ("predict", "both")
    groups = {}       # (mode, head) -> Group
    torch_vals = {}   # (mode, head) -> list of (numpy, torch, label, line index, at)
    modes = {}
    skipped = {}
    checked = {}
    problems = []
    seqs = []         # per line: (tokens, n)

    for idx, (lineno, obj) in enumerate(lines):
        where = "%s:%d" % (os.path.basename(pred_path), lineno)
        tokens, n = model.tokens(obj["string"])
        seqs.append((tokens, n))
        if "length" in obj and obj["length"] != n:
            problems.append("%s: \"length\" %r but the string has %d symbols"
                            % (where, obj["length"], n))
        logits = obj.get("logit") or {}
        nexts = obj.get("next_logits") or {}
        if not isinstance(logits, dict) or not isinstance(nexts, dict):
            problems.append("%s: \"logit\" and \"next_logits\" must be objects" % where)
            continue
        if recognize and not logits:
            problems.append("%s: no \"logit\" for a model with a recognize head" % where)
        if predict and not nexts:
            problems.append("%s: no \"next_logits\" for a model with a predict head" % where)
        if logits and not recognize:
            problems.append("%s: \"logit\" for a model without a recognize head" % where)
        if nexts and not predict:
            problems.append("%s: \"next_logits\" for a model without a predict head" % where)
        for name in list(logits) + [m for m in nexts if m not in logits]:
            if name not in modes:
                modes[name] = Mode(name, tau)
            mode = modes[name]
            ref = forward(model, tokens, n, mode, tie_rel)
            if mode.saturating and ref.ambiguous:
                skipped[name] = skipped.get(name, 0) + 1
                continue
            checked[name] = checked.get(name, 0) + 1
            if torch_ok and checked[name] <= torch_strings:
                tl, tn = forward_torch(model, tokens, n, mode)
                if ref.logit is not None:
                    torch_vals.setdefault((name, "logit"), []).append(
                        (ref.logit, tl, where, idx, None))
                if ref.next is not None:
                    tv = torch_vals.setdefault((name, "next"), [])
                    for (t, c), v in np.ndenumerate(ref.next):
                        tv.append((float(v), float(tn[t, c]), "%s [%d][%d]" % (where, t, c),
                                   idx, (t, c)))
            if name in logits and ref.logit is not None:
                x = logits[name]
                if not _number(x):
                    problems.append("%s: logit %s is %r, not a number" % (where, name, x))
                else:
                    g = groups.setdefault((name, "logit"), Group())
                    g.got.append(float(x))
                    g.ref.append(ref.logit)
                    g.origin.append((idx, where, None))
            if name in nexts and ref.next is not None:
                rows = nexts[name]
                rows_n, cols_n = ref.next.shape
                if (not isinstance(rows, list) or len(rows) != rows_n
                        or not all(isinstance(r, list) and len(r) == cols_n for r in rows)):
                    problems.append("%s: next_logits %s is not %d rows of %d numbers"
                                    % (where, name, rows_n, cols_n))
                    continue
                g = groups.setdefault((name, "next"), Group())
                for t, row in enumerate(rows):
                    for c, x in enumerate(row):
                        if not _number(x):
                            problems.append("%s: next_logits %s [%d][%d] is %r, not a number"
                                            % (where, name, t, c, x))
                            continue
                        g.got.append(float(x))
                        g.ref.append(float(ref.next[t, c]))
                        g.origin.append((idx, "%s [%d][%d]" % (where, t, c), (t, c)))

    # Values beyond rtol get a rounding-noise estimate: noise_runs jittered forward passes,
    # and where those do not cover the difference, up to NOISE_MORE more (for at most
    # NOISE_EXTENDED strings and modes): rounding can tip a softmax whose scores nearly tie
    # at a large scale, and only some of the jittered runs may take that branch.
    jitter = np.random.default_rng(20240601)
    noise_cache = {}
    extended = set()

    def noise(idx, name, at, exact, more=False):
        """The largest change of one value (the logit, or next-symbol logit ``at``) over the
        jittered runs of line ``idx`` in mode ``name``."""
        key = (idx, name)
        tokens, n = seqs[idx]
        runs = noise_cache.setdefault(key, [])
        want = noise_runs
        if more and (key in extended or len(extended) < NOISE_EXTENDED):
            extended.add(key)
            want = noise_runs + NOISE_MORE
        while len(runs) < want:
            runs.append(forward(model, tokens, n, modes[name], tie_rel, jitter=jitter))
        return max(abs((r.logit if at is None else float(r.next[at])) - exact) for r in runs)

    status = 0
    worst_all = 0.0
    report = []
    mismatches = []
    noisy = 0
    noisy_worst = 0.0
    for (name, head), g in sorted(groups.items()):
        got = np.asarray(g.got)
        ref = np.asarray(g.ref)
        rms = float(np.sqrt(np.mean(ref * ref))) if len(ref) else 0.0
        scale = np.maximum(np.abs(ref), rms)
        rel = _relative(got, ref, scale)
        worst = float(rel.max()) if len(rel) else 0.0
        worst_all = max(worst_all, worst)
        bad = 0
        for i in np.nonzero(rel > rtol)[0]:
            idx, label, at = g.origin[i]
            if noise_factor > 0 and noise_runs > 0 and np.isfinite(rel[i]):
                est = noise(idx, name, at, ref[i])
                if abs(got[i] - ref[i]) > noise_factor * est:
                    est = noise(idx, name, at, ref[i], more=True)
                if abs(got[i] - ref[i]) <= noise_factor * est:
                    noisy += 1
                    noisy_worst = max(noisy_worst, abs(got[i] - ref[i]) / est)
                    continue
                why = "float32 noise estimate %.3g" % est
            else:
                why = "no noise estimate"
            bad += 1
            mismatches.append("%s: %s %s: satprobe %.9g, reference %.9g (rel diff %.3g; %s)"
                              % (label, name, head, got[i], ref[i], rel[i], why))
        if bad:
            status = 1
        report.append("  %-14s %-6s %7d values  rms %-10.4g max rel diff %.3g%s"
                      % (name, head, len(got), rms, worst,
                         "  (%d over tolerance)" % bad if bad else ""))

    torch_worst = 0.0
    torch_bad = []
    for (name, head), vals in sorted(torch_vals.items()):
        a = np.asarray([v[0] for v in vals])
        b = np.asarray([v[1] for v in vals])
        rms = float(np.sqrt(np.mean(a * a)))
        rel = _relative(b, a, np.maximum(np.abs(a), rms))
        torch_worst = max(torch_worst, float(rel.max()))
        for i in np.nonzero(rel > TORCH_RTOL)[0]:
            # float64 rounding is 2^-29 of float32's: allow 1e-6 of the float32 noise estimate
            if noise_runs > 0 and np.isfinite(rel[i]):
                est = noise(vals[i][3], name, vals[i][4], a[i])
                if abs(a[i] - b[i]) <= TORCH_NOISE_SHARE * est:
                    continue
            torch_bad.append("%s: %s %s: numpy %.17g, torch %.17g"
                             % (vals[i][2], name, head, a[i], b[i]))

    print("%s: %d strings; checked per mode: %s" % (
        os.path.basename(pred_path), len(lines),
        ", ".join("%s %d" % (m, checked.get(m, 0)) for m in modes) or "none"))
    for line in report:
        print(line)
    if skipped:
        print("skipped for near ties (tau = %g): %s" % (
            tau, ", ".join("%s %d" % (m, c) for m, c in skipped.items())))
    if noisy:
        print("%d values beyond rtol but within %g x their float32 rounding-noise estimate "
              "(largest ratio %.3g)" % (noisy, noise_factor, noisy_worst))
    if torch_ok:
        print("torch float64 vs numpy (first %d strings of each mode): max rel diff %.3g%s" % (
            torch_strings, torch_worst,
            "  (%d over tolerance)" % len(torch_bad) if torch_bad else ""))
    elif not _TORCH["enabled"]:
        print("torch not used (--no-torch): numpy reference only")
    else:
        print("torch not importable: numpy reference only")
    print("largest relative difference %.3g (rtol %g)" % (worst_all, rtol))
    for p in problems[:show]:
        print("PROBLEM: " + p)
    if problems:
        print("%d problems" % len(problems))
        status = 1
    for m in mismatches[:show]:
        print("MISMATCH: " + m)
    if mismatches:
        print("%d values over tolerance" % len(mismatches))
    for m in torch_bad[:show]:
        print("TORCH MISMATCH: " + m)
    if torch_bad:
        status = 1
    if sum(checked.values()) == 0:
        print("nothing was compared")
        status = 1
    print("OK" if status == 0 else "FAILED")
    return status


# --------------------------------------------------------------------------------------------
# self-test


def _tiny_config(**kw):
    cfg = {"alphabet": ["a", "b"], "d_model": 2, "layers": 1, "heads": 1, "d_ff": 1,
           "norm": "none", "bias": False, "mask": "causal", "readout": "last", "pos": ["i"],
           "heads_out": "recognize", "max_len": 16, "ln_eps": 1e-5}
    cfg.update(kw)
    return cfg


def _random_params(cfg, rng):
    out = []
    for name, shape in cfg.expected_tensors():
        if name.endswith("ln1.weight") or name.endswith("ln2.weight") or name == "ln_f.weight":
            arr = 1.0 + 0.1 * rng.standard_normal(shape)
        elif name in ("embed.weight", "pos.weight"):
            arr = rng.standard_normal(shape)
        else:
            fan_in = shape[1] if len(shape) == 2 else cfg.d_model
            arr = rng.uniform(-1, 1, shape) / math.sqrt(fan_in)
        out.append((name, arr.astype(np.float32)))
    return out


def self_test():
    """Built-in checks of this script; returns the exit status."""
    fails = []

    def expect(cond, what):
        if not cond:
            fails.append(what)
            print("self-test FAIL: " + what)

    def close(a, b, tol=1e-12):
        return abs(a - b) <= tol * max(1.0, abs(b))

    # safetensors: the documented 112-byte file, byte for byte, and a round trip
    tiny = encode_safetensors([("a", np.array([1.0, -2.0]))], {"format": "pt"})
    doc = (b"\x60\x00\x00\x00\x00\x00\x00\x00" +
           b'{"__metadata__": {"format": "pt"}, "a": {"dtype": "F32", "shape": [2], '
           b'"data_offsets": [0, 8]}} ' + b"\x00\x00\x80\x3f\x00\x00\x00\xc0")
    expect(tiny == doc and len(doc) == 112, "tiny.safetensors bytes")
    md, ts = parse_safetensors(doc)
    expect(md == {"format": "pt"} and list(ts) == ["a"] and list(ts["a"]) == [1.0, -2.0],
           "tiny.safetensors read back")
    fixture = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures",
                           "safetensors", "tiny.safetensors")
    if os.path.exists(fixture):
        with open(fixture, "rb") as f:
            expect(f.read() == doc, "tests/fixtures/safetensors/tiny.safetensors bytes")
    md, ts = parse_safetensors(encode_safetensors(
        [("z", np.zeros((0, 3))), ("m", np.arange(6).reshape(2, 3)), ("s", np.array(2.5))]))
    expect(ts["m"].shape == (2, 3) and ts["m"][1, 2] == 5 and ts["s"].shape == ()
           and float(ts["s"]) == 2.5 and ts["z"].shape == (0, 3), "round trip with zero-size")

    def header_file(header, data_len):
        text = json.dumps(header).encode()
        return struct.pack("<Q", len(text)) + text + b"\0" * data_len

    ent = lambda s, o: {"dtype": "F32", "shape": s, "data_offsets": o}  # noqa: E731
    bad = {
        "overlap": header_file({"a": ent([2], [0, 8]), "b": ent([2], [4, 12])}, 12),
        "gap": header_file({"a": ent([1], [0, 4]), "b": ent([1], [8, 12])}, 12),
        "trailing": header_file({"a": ent([1], [0, 4])}, 8),
        "dtype": header_file({"a": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}}, 4),
        "size": header_file({"a": ent([3], [0, 8])}, 8),
        "duplicate": (lambda t: struct.pack("<Q", len(t)) + t + b"\0" * 8)(
            b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
            b'"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}'),
        "short": b"\x01\x00\x00",
        "too long header": struct.pack("<Q", 1000) + b"{}",
        "zero-size inside": header_file({"a": ent([2], [0, 8]), "b": ent([0], [4, 4])}, 8),
    }
    for what, data in bad.items():
        try:
            parse_safetensors(data)
            expect(False, "safetensors %s accepted" % what)
        except CheckError:
            pass

    def model_from(cfg_obj, params):
        cfg = Config(cfg_obj)
        blob = encode_safetensors(params, {"format": "pt", "config": json.dumps(cfg_obj)})
        fd, path = tempfile.mkstemp(suffix=".safetensors")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
            m = Model.load(path)
        finally:
            os.unlink(path)
        expect(m.cfg.expected_tensors() == cfg.expected_tensors(), "config round trip")
        return m

    # A model computed by hand. Alphabet a, b (tokens 0, 1; BOS 2); D = 2 with the feature i,
    # so h0[t] = (e_t, p) with e = +1 for a, -1 for b, 0 for BOS, p = t + 1. W_q picks p, W_k
    # picks e: s[i, j] = p_i e_j / sqrt(2). W_v = W_o = identity; the FF sublayer is zero
    # (W_1 = 0); readout (1, 0.5) reads the last position.
    E = np.array([[1.0], [-1.0], [0.0], [0.0]])
    params = [("embed.weight", E),
              ("layers.0.attn.q.weight", np.array([[0.0, 1.0], [0.0, 0.0]])),
              ("layers.0.attn.k.weight", np.array([[1.0, 0.0], [0.0, 0.0]])),
              ("layers.0.attn.v.weight", np.eye(2)),
              ("layers.0.attn.o.weight", np.eye(2)),
              ("layers.0.ff.w1.weight", np.zeros((1, 2))),
              ("layers.0.ff.w2.weight", np.array([[3.0], [-7.0]])),
              ("readout.weight", np.array([[1.0, 0.5]]))]
    m = model_from(_tiny_config(), params)
    a = 3 / math.sqrt(2)  # the query at p = 3 against e = 1
    soft, sat, hard = Mode("soft", 1e-5), Mode("saturated", 1e-5), Mode("hard", 1e-5)
    # "a b": e = (0, 1, -1), p = (1, 2, 3); query t = 2 sees s = (0, a, -a).
    tok, n = m.tokens("a b")
    expect(tok == [2, 0, 1] and n == 2, "tokens of 'a b'")
    den = 1 + math.exp(a) + math.exp(-a)
    z0 = (math.exp(a) - math.exp(-a)) / den
    z1 = (1 + 2 * math.exp(a) + 3 * math.exp(-a)) / den
    expect(close(forward(m, tok, n, soft).logit, -1 + z0 + 0.5 * (3 + z1)), "hand: soft 'a b'")
    expect(close(forward(m, tok, n, sat).logit, -1 + 1 + 0.5 * (3 + 2)), "hand: saturated 'a b'")
    expect(close(forward(m, tok, n, hard).logit, 2.5), "hand: hard 'a b'")
    # "a a": e = (0, 1, 1); s = (0, a, a): a tie between positions 1 and 2.
    tok, n = m.tokens("a a")
    den = 1 + 2 * math.exp(a)
    z0 = 2 * math.exp(a) / den
    z1 = (1 + 5 * math.exp(a)) / den
    expect(close(forward(m, tok, n, soft).logit, 1 + z0 + 0.5 * (3 + z1)), "hand: soft 'a a'")
    expect(close(forward(m, tok, n, sat).logit, 1 + 1 + 0.5 * (3 + 2.5)), "hand: saturated 'a a'")
    expect(close(forward(m, tok, n, hard).logit, 1 + 1 + 0.5 * (3 + 2)), "hand: hard 'a a'")
    # scaled:2 multiplies every parameter (not the feature i): the same as a model whose
    # tensors were doubled in the file.
    m2 = model_from(_tiny_config(), [(nm, 2 * np.asarray(v)) for nm, v in params])
    for s in ("", "a", "a b", "b b a"):
        tok, n = m.tokens(s)
        expect(close(forward(m, tok, n, Mode("scaled:2", 1e-5)).logit,
                     forward(m2, tok, n, soft).logit), "scaled:2 equals doubled tensors (%r)" % s)
        expect(forward(m, tok, n, Mode("scaled:1", 1e-5)).logit == forward(m, tok, n, soft).logit,
               "scaled:1 equals soft (%r)" % s)
    # the empty string: T = 1, the query sees only BOS.
    tok, n = m.tokens("")
    expect(tok == [2] and close(forward(m, tok, n, soft).logit, 0 + 0 + 0.5 * (1 + 1)),
           "hand: empty string")

    rng = np.random.default_rng(7)
    # Zero query weights (and biases): every score is 0, attention is uniform over the visible
    # positions; with no layer norm saturated then equals soft exactly, and hard takes j = 0.
    for mask in ("causal", "none"):
        for readout in ("cls", "last", "mean"):
            obj = _tiny_config(d_model=6, heads=2, layers=2, d_ff=5, bias=True, mask=mask,
                               readout=readout, pos=["learned", "i/n"], heads_out="both")
            cfg = Config(obj)
            ps = []
            for nm, arr in _random_params(cfg, rng):
                if ".attn.q." in nm:
                    arr = np.zeros_like(arr)
                ps.append((nm, arr))
            mz = model_from(obj, ps)
            for s in ("a", "a b b", "b a b a a"):
                tok, n = mz.tokens(s)
                T = len(tok)
                r_soft = forward(mz, tok, n, soft, keep_attention=True)
                r_sat = forward(mz, tok, n, sat, keep_attention=True)
                r_hard = forward(mz, tok, n, hard, keep_attention=True)
                vis = np.tril(np.ones((T, T))) if mask == "causal" else np.ones((T, T))
                uniform = vis / vis.sum(axis=1, keepdims=True)
                for w in r_soft.attention + r_sat.attention:
                    expect(np.allclose(w, uniform[None], rtol=0, atol=1e-15),
                           "zero scores give uniform attention (%s, %s, %r)" % (mask, readout, s))
                for w in r_hard.attention:
                    expect(np.all(w[:, :, 0] == 1.0), "hard takes the leftmost of a tie")
                expect(close(r_soft.logit, r_sat.logit, 1e-12)
                       and np.allclose(r_soft.next, r_sat.next, rtol=1e-12, atol=1e-12),
                       "saturated equals soft when every score ties (%s, %s)" % (mask, readout))
                expect(r_soft.next.shape == (n + 1, 3), "next logits shape")
                expect(not r_sat.ambiguous, "an exact tie is not a near tie")

    # A near tie is noticed: the hand model at a score gap of exactly tau.
    tok, n = m.tokens("a a")
    expect(not forward(m, tok, n, sat).ambiguous, "no near tie in the hand model")
    expect(forward(m, tok, n, Mode("saturated", a)).ambiguous,
           "a gap equal to tau is a near tie")

    # Layer norm with eps = 0 on a constant vector gives its bias (and no NaN).
    obj = _tiny_config(d_model=3, layers=0, norm="pre", bias=True, pos=["none"], readout="mean")
    ps = [("embed.weight", np.array([[2.0] * 3, [-1.0] * 3, [0.5] * 3, [4.0] * 3])),
          ("ln_f.weight", np.array([3.0, 1.0, 2.0])), ("ln_f.bias", np.array([0.5, -1.0, 2.0])),
          ("readout.weight", np.array([[1.0, 2.0, 3.0]])), ("readout.bias", np.array([0.25]))]
    ml = model_from(obj, ps)
    for mode in (soft, sat, hard):
        tok, n = ml.tokens("a b")
        expect(close(forward(ml, tok, n, mode).logit, 0.5 - 2.0 + 6.0 + 0.25),
               "zero-variance layer norm gives its bias (%s)" % mode.name)

    # Sinusoids: the documented formula, channel by channel, with an odd width.
    S = sinusoids(5, 7)
    ok = True
    for t in range(5):
        for j in range(0, 7, 2):
            ang = t / 10000 ** (j / 7)
            ok &= close(S[t, j], math.sin(ang))
            if j + 1 < 7:
                ok &= close(S[t, j + 1], math.cos(ang))
    expect(ok and S.shape == (5, 7), "sinusoids")

    # Features: i, i/n, 1/i, cos(pi*i) of p = 1..T (BOS at p = 1), N = T.
    p = np.arange(1, 5, dtype=np.float64)
    expect(list(feature("i", p, 4.0)) == [1, 2, 3, 4]
           and list(feature("i/n", p, 4.0)) == [0.25, 0.5, 0.75, 1.0]
           and list(feature("1/i", p, 4.0)) == [1, 0.5, 1 / 3, 0.25]
           and list(feature("cos(pi*i)", p, 4.0)) == [-1, 1, -1, 1], "features")

    # Rejections: an extra tensor, a missing one, a wrong shape, an unknown config key.
    cfg = Config(_tiny_config())
    good = dict((nm, np.zeros(sh, np.float32)) for nm, sh in cfg.expected_tensors())
    for what, tensors, cobj in (
            ("extra", dict(good, **{"extra.weight": np.zeros(1, np.float32)}), _tiny_config()),
            ("missing", {k: v for k, v in good.items() if k != "readout.weight"}, _tiny_config()),
            ("shape", dict(good, **{"embed.weight": np.zeros((3, 1), np.float32)}),
             _tiny_config()),
            ("key", good, dict(_tiny_config(), colour="red"))):
        try:
            Model(Config(cobj), tensors)
            expect(False, "model with %s tensor/key accepted" % what)
        except CheckError:
            pass

    # limit is the leading coefficient of f(x; C theta): scaled:C divided by C^k (k = 2 with
    # layer norm, 2 + 4 L without) approaches it, with relative error O(1/C).
    worst = 0.0
    compared = 0
    for norm, bias, pos, layers in (("pre", True, ["sinusoidal", "learned", "i"], 2),
                                    ("post", True, ["learned", "cos(pi*i)"], 3),
                                    ("none", True, ["sinusoidal", "i/n"], 2),
                                    ("pre", False, ["none"], 1),
                                    ("post", False, ["1/i"], 0)):
        for readout, heads_out in (("cls", "both"), ("mean", "recognize"), ("last", "both")):
            obj = _tiny_config(d_model=8, heads=2, layers=layers, d_ff=6, norm=norm, bias=bias,
                               readout=readout, pos=pos, heads_out=heads_out, max_len=32)
            ml = model_from(obj, _random_params(Config(obj), rng))
            k = 2 if norm != "none" else 2 + 4 * layers
            C = 1e5
            for s in ("a", "a b", "b b a", "a b a a b"):
                tok, n = ml.tokens(s)
                lim = forward(ml, tok, n, Mode("limit", 0.0))
                if lim.ambiguous:
                    continue
                big = forward(ml, tok, n, Mode("scaled:%g" % C, 0.0))
                a = np.append(big.next if big.next is not None else [], big.logit) / C ** k
                b = np.append(lim.next if lim.next is not None else [], lim.logit)
                worst = max(worst, float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)))
                compared += 1
    expect(compared >= 30 and worst < 1e-3,
           "scaled:C / C^k tends to limit (%d strings, worst %.3g)" % (compared, worst))

    # check() end to end: a predictions file made from the reference itself (rounded to 9
    # significant digits, as satprobe prints float32) passes; one changed logit fails.
    obj = _tiny_config(d_model=6, heads=2, layers=2, d_ff=7, norm="pre", bias=True,
                       readout="cls", pos=["sinusoidal", "1/i"], heads_out="both")
    ps = _random_params(Config(obj), rng)
    mc = model_from(obj, ps)
    blob = encode_safetensors(ps, {"format": "pt", "config": json.dumps(obj)})
    names = ("soft", "scaled:3", "saturated", "hard", "limit")
    lines = []
    for s in ("", "a", "b a", "a a b", "b b a b a"):
        tok, n = mc.tokens(s)
        line = {"string": s, "label": False, "length": n, "bin": "t", "logit": {},
                "next_logits": {}}
        for name in names:
            r = forward(mc, tok, n, Mode(name, 1e-5))
            line["logit"][name] = float("%.9g" % r.logit)
            line["next_logits"][name] = [[float("%.9g" % v) for v in row] for row in r.next]
        lines.append(line)
    tmpdir = tempfile.mkdtemp()
    try:
        mpath = os.path.join(tmpdir, "m.safetensors")
        ppath = os.path.join(tmpdir, "p.jsonl")
        with open(mpath, "wb") as f:
            f.write(blob)

        def run_check(ls):
            with open(ppath, "w") as f:
                for line in ls:
                    f.write(json.dumps(line) + "\n")
            import contextlib
            import io
            with contextlib.redirect_stdout(io.StringIO()) as out:
                st = check(mpath, ppath, 1e-5, 1e-5, 1e-6, 50.0, 4, 5)
            return st, out.getvalue()

        st, out = run_check(lines)
        expect(st == 0, "check passes on the reference's own values:\n" + out)
        bad = json.loads(json.dumps(lines))
        bad[2]["logit"]["soft"] *= 1.001
        st, out = run_check(bad)
        expect(st == 1 and "MISMATCH" in out, "check fails on a changed logit")
        bad = json.loads(json.dumps(lines))
        bad[3]["next_logits"]["hard"][1][2] += 0.01
        st, out = run_check(bad)
        expect(st == 1 and "MISMATCH" in out, "check fails on a changed next logit")
        bad = json.loads(json.dumps(lines))
        del bad[1]["next_logits"]["soft"][0]
        st, out = run_check(bad)
        expect(st == 1 and "PROBLEM" in out, "check fails on a short next_logits")
    finally:
        for f in os.listdir(tmpdir):
            os.unlink(os.path.join(tmpdir, f))
        os.rmdir(tmpdir)

    # Every configuration option through both implementations, when torch is there.
    if have_torch():
        worst = 0.0
        for norm in ("pre", "post", "none"):
            for bias in (True, False):
                obj = _tiny_config(d_model=7, heads=1, layers=2, d_ff=9, norm=norm, bias=bias,
                                   readout="cls", pos=["sinusoidal", "learned", "i", "cos(pi*i)"],
                                   heads_out="both", ln_eps=1e-3)
                mt = model_from(obj, _random_params(Config(obj), rng))
                for mname in ("soft", "scaled:3", "saturated", "hard", "limit"):
                    mode = Mode(mname, 1e-5)
                    tok, n = mt.tokens("a b b a")
                    r = forward(mt, tok, n, mode)
                    tl, tn = forward_torch(mt, tok, n, mode)
                    worst = max(worst, abs(r.logit - tl) / max(1.0, abs(tl)),
                                float(np.max(np.abs(r.next - tn))))
        expect(worst < 1e-10, "torch agrees with numpy (%.3g)" % worst)
        print("self-test: torch agrees with numpy to %.3g" % worst)
    else:
        print("self-test: torch not importable, torch comparison skipped")

    print("self-test: %s" % ("OK" if not fails else "%d FAILED" % len(fails)))
    return 0 if not fails else 1


# --------------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def main(argv):
    ap = _Parser(prog="forward.py", description="Cross-check satprobe eval --predictions "
                 "against an independent numpy forward pass (see the module docstring).")
    ap.add_argument("model", nargs="?", help="MODEL.safetensors")
    ap.add_argument("predictions", nargs="?", help="PREDICTIONS.jsonl from satprobe eval")
    ap.add_argument("--tie-tolerance", type=float, default=1e-5, metavar="T",
                    help="tau of saturated, hard and limit attention (default 1e-5)")
    ap.add_argument("--rtol", type=float, default=1e-5, metavar="R",
                    help="largest relative difference allowed (default 1e-5)")
    ap.add_argument("--tie-rel", type=float, default=1e-6, metavar="E",
                    help="relative float32 rounding allowed for in scores when looking for near "
                         "ties (default 1e-6)")
    ap.add_argument("--noise-factor", type=float, default=50.0, metavar="K",
                    help="a value beyond rtol still passes when within K times its float32 "
                         "rounding-noise estimate; 0 turns this off (default 50)")
    ap.add_argument("--noise-runs", type=int, default=8, metavar="N",
                    help="jittered forward passes behind a noise estimate (default 8)")
    ap.add_argument("--no-torch", action="store_true",
                    help="do not run the torch implementation even if torch is importable")
    ap.add_argument("--torch-strings", type=int, default=50, metavar="N",
                    help="strings of each mode the torch implementation checks (default 50)")
    ap.add_argument("--show", type=int, default=5, metavar="N",
                    help="mismatches to print (default 5)")
    ap.add_argument("--self-test", action="store_true", help="run the built-in checks")
    try:
        args = ap.parse_args(argv)
        if args.no_torch:
            _TORCH["enabled"] = False
        if args.self_test:
            if args.model or args.predictions:
                raise UsageError("--self-test takes no files")
            return self_test()
        if not args.model or not args.predictions:
            raise UsageError("need MODEL.safetensors and PREDICTIONS.jsonl")
        if not (args.tie_tolerance >= 0 and args.rtol >= 0 and args.tie_rel >= 0
                and args.noise_factor >= 0 and args.noise_runs >= 0):
            raise UsageError("--tie-tolerance, --rtol, --tie-rel, --noise-factor and "
                             "--noise-runs must be non-negative")
        for path in (args.model, args.predictions):
            if not os.path.isfile(path):
                raise UsageError("%s: no such file" % path)
        return check(args.model, args.predictions, args.tie_tolerance, args.rtol, args.tie_rel,
                     args.noise_factor, args.noise_runs, args.show, args.torch_strings)
    except UsageError as e:
        print("forward.py: %s" % e, file=sys.stderr)
        print("usage: forward.py MODEL.safetensors PREDICTIONS.jsonl [--tie-tolerance T] "
              "[--rtol R] [--tie-rel E] | --self-test", file=sys.stderr)
        return 2
    except CheckError as e:
        print("forward.py: %s" % e, file=sys.stderr)
        print("FAILED")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
