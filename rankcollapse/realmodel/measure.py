"""Inputs and measurements of the real-model experiment.

The collapse curves run in float64 with the split forward pass (``X^l = 1 c^T + R``), one task
per (initialisation, sequence) that measures every variant, the attention paths drawn on that
sequence (drawn beforehand) and the explicit bounds from one forward pass per variant; values
below the double range go to arb balls (:func:`deep_ratios`); the certified verdicts
(``--verdicts``) are tasks of their own. All run through
:func:`rankcollapse.parallel.map_tasks`, so the results are the same for every ``--jobs``.
Each worker reads the weights once (a per-process cache).
"""

from __future__ import annotations

import functools
import json
import math
import re
import time
from dataclasses import dataclass, field
from fractions import Fraction
from importlib import resources
from pathlib import Path

import numpy as np

from rankcollapse.errors import UsageError
from rankcollapse.numerics import architectures as arch
from rankcollapse.numerics import checkpoint
from rankcollapse.numerics.context import get_context
from rankcollapse.numerics.network import Split, attention_probs, forward_split, layer_forward, mask_matrix
from rankcollapse.numerics.norms import norm_composite
from rankcollapse.parallel import map_tasks

INITS = ("pretrained", "random")
PATH_LENGTHS = range(1, 7)
# Ratios under this are not reported as numbers: near the end of the double range (2.2e-308)
# the split pass's products go subnormal and lose digits, and 0 may be underflow. They are
# counted per layer as "below_double_range" (their true values are below it, not 0).
BELOW_DOUBLES = 1e-290
# The same margin above the long double's smallest normal number (1.5e-4914 on x86-64; where
# the platform's long double is a double, 1e-290 again and nothing is gained)
BELOW_LONG_DOUBLES = np.finfo(np.longdouble).tiny * (BELOW_DOUBLES / np.finfo(np.float64).tiny)
# A layer below the double range costs 5-12 s in balls (MiniLM, 128 tokens) against 0.1-0.2 s in
# long doubles and 1 s for a whole sequence in doubles: by default every sequence gets those values
# in long doubles (uncertified, like the doubles); --balls-sequences N certifies the first N
# (MiniLM's sequence 0: 18 s of CPU, 9 s of the default run's 80 s on 2 cores).
BALLS_SEQUENCES = 0
# Precision of a chain of layers in balls: each layer loses up to about 13 bits of relative
# accuracy (the balls' radii grow 1e3-1e4 fold per layer on random BERTs; at 53 bits a
# BERT-base value 5 layers into the chain was off by 1.8 decades and later ones were balls
# around 0), so a chain starts with this many bits per layer still to go plus a guard. A value
# whose ball is still wider than the 17 digits reported is not reported (counted as not computed).
DEEP_BITS_PER_LAYER = 20
DEEP_GUARD_BITS = 80
DEEP_ACCURACY = Fraction(1, 2**57)  # relative width of the token-mean ball (17 digits: 1e-17)
BRACKET_WIDTH = Fraction(1, 100)  # r brackets at most 1 % wide (relative to their upper end)
ctx = get_context("float64")
LONG = get_context("longdouble")  # for the values below the double range
BALLS = get_context("arb")  # for the values below the double range, certified
FLOORS = {ctx: BELOW_DOUBLES, LONG: BELOW_LONG_DOUBLES}


# -- model and inputs -----------------------------------------------------------------------

@dataclass(frozen=True)
class Model:
    """A checkpoint folder and what the experiment needs to know about it."""

    name: str
    folder: str
    config: arch.Config


def open_model(folder: str | None) -> Model:
    """``folder`` (a Hugging Face checkpoint) or, without one, the MiniLM weights package; the
    weights themselves are read by each worker (:func:`_blocks`)."""
    try:
        if folder is None:
            path, name = checkpoint.minilm_dir(), checkpoint.MINILM_NAME
        else:
            path, name = Path(folder), str(folder)
        config, _ = _load(str(path))
    except (checkpoint.ModelUnavailable, checkpoint.CheckpointError) as e:
        raise UsageError(str(e)) from None
    return Model(name, str(path), config)


def _stamp(folder: str) -> tuple:
    """What identifies the files' contents for the caches below (a rewritten file is re-read)."""
    return tuple((f.stat().st_mtime_ns, f.stat().st_size) if f.is_file() else None
                 for f in (Path(folder) / "config.json", Path(folder) / "model.safetensors"))


def _load(folder: str):
    return _load_cached(folder, _stamp(folder))


@functools.lru_cache(maxsize=1)
def _load_cached(folder: str, stamp: tuple):
    return checkpoint.load(folder)


def _blocks(folder: str, init: str, seed: int):
    """``(config, state, blocks)`` of one initialisation; one at a time per process (memory)."""
    return _blocks_cached(folder, init, seed, _stamp(folder))


@functools.lru_cache(maxsize=1)
def _blocks_cached(folder: str, init: str, seed: int, stamp: tuple):
    config, state = _load(folder)
    if init == "random":
        state = arch.random_state(config, seed)
    return config, state, arch.blocks(config, state)


def load_passages() -> list[str]:
    """The packaged passages: paragraphs separated by blank lines, '#' lines are comments."""
    text = (resources.files("rankcollapse") / "data" / "english.txt").read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", body) if p.strip()]


def token_ids(model: Model, sequences: int, tokens: int) -> list[list[int]]:
    """The first ``sequences`` passages as exactly ``tokens`` ids each (the tokenizer's special
    tokens included), so no padding is needed and every sequence has the same n."""
    passages = load_passages()
    if not 1 <= sequences <= len(passages):
        raise UsageError(f"--sequences must be between 1 and {len(passages)}, got {sequences}")
    if not 2 <= tokens <= model.config.max_tokens:
        raise UsageError(f"--tokens must be between 2 and {model.config.max_tokens}, got {tokens}")
    try:
        tok = checkpoint.load_tokenizer(model.folder, tokens)
    except checkpoint.ModelUnavailable as e:
        raise UsageError(str(e)) from None
    if tok is None:
        raise UsageError(f"{model.folder} has no tokenizer.json: give the token ids with --input-ids FILE")
    ids = [tok.encode(p).ids for p in passages[:sequences]]
    short = [i for i, x in enumerate(ids) if len(x) < tokens]
    if short:
        raise UsageError(f"--tokens {tokens}: passage(s) {short} are shorter than that")
    return ids


def read_input_ids(path: str, model: Model) -> list[list[int]]:
    """``{"input_ids": [[...], ...]}``: sequences of equal length (no padding mask needed) of
    valid token ids."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UsageError(f"--input-ids {path}: cannot read JSON ({e})") from None
    seqs = data.get("input_ids") if isinstance(data, dict) else None
    if not (isinstance(seqs, list) and seqs and all(isinstance(s, list) and s for s in seqs)):
        raise UsageError(f'--input-ids {path}: expected {{"input_ids": [[...], ...]}} with nonempty lists')
    for i, s in enumerate(seqs):
        bad = [v for v in s if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < model.config.vocab]
        if bad:
            raise UsageError(f"--input-ids {path}: input_ids[{i}] has {bad[0]!r}, not a token id "
                             f"between 0 and {model.config.vocab - 1}")
        if len(s) != len(seqs[0]):
            raise UsageError(f"--input-ids {path}: input_ids[{i}] has {len(s)} ids, input_ids[0] has "
                             f"{len(seqs[0])}: sequences must have equal length (no padding)")
    n = len(seqs[0])
    if not 2 <= n <= model.config.max_tokens:
        raise UsageError(f"--input-ids {path}: sequences of {n} ids; need 2 to {model.config.max_tokens}")
    return seqs


# -- measurements ---------------------------------------------------------------------------

def residual_norm(R, ctx=ctx):
    """``||R - 1 mean(R)^T||_{1,inf}`` of a residual part (in ``ctx``: float64 or long double),
    accurate however small: the composite norm multiplies two norms before its square root,
    which underflows for entries near the square root of the type's smallest number, so R is
    scaled by a power of two (exactly) first."""
    from rankcollapse.numerics.residual import token_mean_residual

    top = np.abs(R).max()
    if top == 0 or not np.isfinite(top):
        return top
    e = int(np.frexp(top)[1])
    return np.ldexp(norm_composite(ctx, token_mean_residual(ctx, np.ldexp(R, -e))), e)


@dataclass(frozen=True)
class Value:
    """One layer output's measurements: the token-mean ratio (a double, or an exact Fraction where
    no double holds it) and an enclosure ``r_ratio = (lower, upper)`` of ``r(X) / ||X||_{1,inf}``
    (exact Fractions; None when not computed). ``balls``: computed in arb from the float64
    split of the layer before (the value lies below the double range); ``long_double``:
    computed in long doubles from it, like the doubles without an error bound; otherwise from
    the float64 split pass (exact for its doubles, no error bound of the pass itself)."""

    token_mean: float | Fraction
    r_ratio: tuple[Fraction, Fraction] | None = None
    balls: bool = False
    long_double: bool = False

    @property
    def wide(self) -> bool:
        """The r bracket is wider than :data:`BRACKET_WIDTH` (relative to its upper end)."""
        return self.r_ratio is not None and self.r_ratio[1] - self.r_ratio[0] > BRACKET_WIDTH * self.r_ratio[1]


def ratios(Z, bracket: bool, ctx=ctx) -> Value | None:
    """The measurements of one layer output ``Z`` (a split in ``ctx``, float64 or long double);
    None where the token-mean ratio is below the type's floor (:data:`FLOORS`: the type cannot
    hold it, :func:`long_ratios` and :func:`deep_ratios` go further).

    Both are read from the residual part R (``r(X) = r(R)``, and R keeps its relative accuracy
    in the split pass), divided by ``||X||_{1,inf}``. The bracket is the fast one
    (``residual_bracket(exact=False)``), or the exact one where the fast one is over 1 % wide
    (:attr:`Value.wide` would flag a bracket still over it); the division by the computed
    ``||X||`` rounds outward by :func:`_norm_pad`. A ratio below the double range is the exact
    Fraction of its long double."""
    from rankcollapse.numerics.residual import residual_bracket

    size = norm_composite(ctx, Z.X)
    token_mean = residual_norm(Z.R, ctx) / size
    if not token_mean >= FLOORS[ctx]:  # underflow, or exactly equal rows (then 0 in balls too)
        return None
    token_mean = float(token_mean) if token_mean >= BELOW_DOUBLES else ctx.lo(token_mean)
    long_double = ctx is LONG
    if not bracket:
        return Value(token_mean, long_double=long_double)
    b = residual_bracket(ctx, Z.R, exact=False)
    if b.upper - b.lower > BRACKET_WIDTH * b.upper:  # the fast search missed (3 MiniLM outputs in 1,792)
        b = residual_bracket(ctx, Z.R, exact=True)  # LPs: about 1 s, 1e-10 wide
    q, pad = ctx.lo(size), _norm_pad(*Z.R.shape)
    return Value(token_mean, (b.lower / q * (1 - pad), b.upper / q * (1 + pad)), long_double=long_double)


def _norm_pad(n: int, d: int) -> Fraction:
    """A relative bound, doubled, on the rounding of ``||1 c^T + R||_{1,inf}`` computed in doubles
    (or long doubles): each entry of ``R + c`` rounds once (``u = 2^-53``), a column (row) sum of
    ``n`` (``d``) nonnegative terms by at most ``gamma_n`` (Higham, Thm 4.4), the product and the
    square root once each, so the norm is within ``((n + d) / 2 + 3) u`` of the split's own
    (to first order; a layer output's norm is O(1), far above underflow); ``2^-50``, used
    before, was below that for ``n + d`` over 10."""
    return Fraction(n + d + 6, 2**53)


def long_ratios(Z, layer, d_qk: int, bracket: bool):
    """``(output split in long doubles, Value or None)`` of ``layer`` applied to ``Z``, the float64
    split of the layer before (its doubles are taken exactly) or a long-double split from a
    previous call: for outputs below the double range, at a fiftieth of the cost of balls
    (:func:`deep_ratios`) and without their certificate. None where the long double cannot hold
    the value either."""
    Z = Split(LONG.array(Z.c), LONG.array(Z.R))
    Y = layer_forward(LONG, Z, layer, d_qk)
    return Y, ratios(Y, bracket, LONG)


def deep_ratios(Z, layer, d_qk: int, bracket: bool, bits: int = DEEP_GUARD_BITS + DEEP_BITS_PER_LAYER):
    """``(output split in balls, Value)`` of ``layer`` applied to ``Z`` in arb at ``bits`` of
    working precision, whose exponent range is unbounded: for outputs whose residual lies below
    what doubles hold. ``Z`` is the float64 split of the layer before (its doubles are taken
    exactly) or an arb split from a previous call. Both values are certified for that input; the
    token-mean ratio is the midpoint of its ball, reported only when that ball is narrower than
    :data:`DEEP_ACCURACY` relative to it (else ``Value(nan)``: not computed, never a wrong
    number or a 0 from a ball around 0)."""
    from rankcollapse.numerics.residual import residual_bracket, token_mean_residual

    with BALLS.workprec(bits):
        if Z.R.dtype != object:
            Z = Split(BALLS.array(Z.c), BALLS.array(Z.R))
        Y = layer_forward(BALLS, Z, layer, d_qk)
        size = norm_composite(BALLS, Y.X)
        tm = norm_composite(BALLS, token_mean_residual(BALLS, Y.R)) / size
    try:
        lo, hi = BALLS.lo(tm), BALLS.hi(tm)
    except ValueError:  # no finite enclosure
        return Y, Value(math.nan)
    if not (hi - lo <= DEEP_ACCURACY * lo or hi == 0):  # hi == 0: the rows are exactly equal
        return Y, Value(math.nan)
    token_mean = (lo + hi) / 2
    if not bracket:
        return Y, Value(token_mean, None, True)
    b, low = residual_bracket(BALLS, Y.R, exact=False), BALLS.lo(size)
    return Y, Value(token_mean, (b.lower / BALLS.hi(size), b.upper / low) if low > 0 else None, True)


def variant_values(net, outputs, bracket: bool, balls: bool, first: Value | None = None) -> list[Value]:
    """Every layer's :class:`Value` of one forward pass (``outputs``: the float64 splits
    ``X^0..X^L``). A layer whose value is below the double range, and every later one (its
    float64 input is then no longer accurate), continues from the float64 split of the layer
    before in a chain: in balls with ``balls`` (:func:`deep_ratios`, at a precision set for the
    layers left in the chain, :data:`DEEP_BITS_PER_LAYER`), else in long doubles
    (:func:`long_ratios`). A value neither holds is ``Value(nan)``: not measured, never 0."""
    values = [first or ratios(outputs[0], bracket)]
    deep = bits = None  # the chain's last output (balls or long doubles), once it has started
    lost = False  # the long doubles' chain has left their range: its output lost its digits
    for l, Z in enumerate(outputs[1:], start=1):
        value = None if deep is not None else ratios(Z, bracket)
        if lost:
            value = Value(math.nan, long_double=True)
        elif value is None:
            start = deep if deep is not None else outputs[l - 1]
            if balls:
                bits = bits or DEEP_GUARD_BITS + DEEP_BITS_PER_LAYER * (len(outputs) - l)
                deep, value = deep_ratios(start, net.layers[l - 1], net.d_qk, bracket, bits)
            else:
                deep, value = long_ratios(start, net.layers[l - 1], net.d_qk, bracket)
                lost = value is None
                value = value or Value(math.nan, long_double=True)
        values.append(value)
    return values


def residual_ratios(X, exact: bool) -> tuple[float, float]:
    """``(token-mean ratio, r-ratio upper end or nan)`` of a plain matrix (attention paths); nan
    for a ratio below the double range."""
    from rankcollapse.numerics.network import split

    v = ratios(split(ctx, np.asarray(X, dtype=np.float64)), exact)
    if v is None:
        return math.nan, math.nan
    return v.token_mean, (float(v.r_ratio[1]) if v.r_ratio else math.nan)


def one_blas_thread():
    """A context in which BLAS runs on one thread: the products here are small (128 x 384), and
    OpenBLAS's own threads on a shared 2-core machine cost 10 times the CPU time of the work
    (measured: 17.8 s against 1.5 s for one sequence); ``--jobs`` is the parallelism."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # the realmodel extra is missing it: run with the library's default
        import contextlib
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _sequence(folder: str, init: str, seed: int, ids, bracket: bool, balls: bool, path_rows, path_brackets: int,
              bounds: bool) -> dict:
    """Everything measured on one sequence at one initialisation, from one forward pass per
    variant: the variants' layer values, the attention paths drawn on this sequence (from the
    full variant's layer inputs) and, when ``bounds``, the explicit bounds (from the
    pure-attention variant's layer inputs)."""
    config, state, block_list = _blocks(folder, init, seed)
    X0 = arch.embed(config, state, ids)
    out = {"variants": {}, "paths": [], "bounds": None}
    first = None
    for name in arch.VARIANTS:
        net = arch.variant(config, block_list, name)
        outputs = forward_split(ctx, net, X0)
        values = variant_values(net, outputs, bracket, balls, first)
        first = values[0]  # layer 0 is the same in every variant
        out["variants"][name] = values
        if name == "full":
            out["paths"] = _attention_paths(config, net, outputs, path_rows, path_brackets)
        if name == "pure-attention" and bounds:
            out["bounds"] = _explicit_bounds(folder, init, seed, ids, X0, outputs)
    return out


@dataclass
class Curves:
    """One variant at one initialisation: ``values[sequence][layer]`` (:class:`Value`)."""

    name: str
    init: str
    values: list

    @property
    def token_mean(self) -> np.ndarray:
        """The token-mean ratios as doubles [sequence, layer] (0 where they lie below the double
        range: plots and float summaries only; the report reads :attr:`values`)."""
        return np.array([[float(v.token_mean) for v in row] for row in self.values])


@dataclass
class Experiment:
    model: str
    architecture: str
    sequences: int
    tokens: int
    bracket_sequences: int
    seed: int
    curves: list = field(default_factory=list)
    paths: dict = field(default_factory=dict)     # init -> {length: [(token_mean, r upper), ...]}
    bounds: dict | None = None
    seconds: float = 0.0
    jobs: int = 1


def _draw_paths(rng, sequences: int, config, lengths, samples: int) -> dict:
    """``{k: [(sequence, layers l_1 < ... < l_k, heads), ...]}``, drawn before any task runs so
    that the paths do not depend on which worker computes them."""
    specs = {}
    for k in lengths:
        rows = []
        for _ in range(samples):
            s = int(rng.integers(sequences))
            layers = [int(l) for l in sorted(rng.choice(config.layers, size=k, replace=False))]
            rows.append((s, layers, [int(rng.integers(config.heads)) for _ in layers]))
        specs[k] = rows
    return specs


def _task(kind: str, *args):
    """One unit of work for :func:`rankcollapse.parallel.map_tasks` (one BLAS thread): a sequence at
    one initialisation (:func:`_sequence`) or a certified verdict (:func:`_san_verdicts`,
    :func:`_one_step_verdict`)."""
    with one_blas_thread():
        return {"sequence": _sequence, "san": _san_verdicts, "one_step": _one_step_verdict}[kind](*args)


def _enclosure(bound) -> tuple:
    """A bound's enclosure ``(lo, hi)``; an :class:`~rankcollapse.numerics.bounds.AtLeast` has
    only its lower end (``hi = inf``)."""
    from rankcollapse.numerics.bounds import AtLeast

    if isinstance(bound, AtLeast):
        return BALLS.lo(bound.value), math.inf
    return BALLS.lo(bound), BALLS.hi(bound)


def _san_verdicts(folder: str, seed: int, ids) -> list[dict]:
    """Certified verdicts (balls) of Theorem E4 and of the published form (gamma = 1, each
    layer's own beta: it implies the stated form with one beta for all layers) on the theory's
    SAN of the pretrained weights, for one sequence: ``r(X^l) <= B_l``, ``r`` bracketed on the
    SAN's output enclosure from the exact doubles of ``X^0``. ``B_0`` = the upper end of
    ``r(X^0)``, the published form's ``r0`` = its bracket."""
    from rankcollapse.numerics.bounds import apriori_bounds, published_bounds
    from rankcollapse.numerics.residual import residual_bracket
    from rankcollapse.numerics.verdict import decide

    config, state, _ = _blocks(folder, "pretrained", seed)
    san, _ = _san(folder, "pretrained", seed)
    outputs = forward_split(BALLS, san, arch.embed(config, state, ids))
    brackets = [residual_bracket(BALLS, Z.R, exact=False) for Z in outputs]
    r0 = BALLS.hull(BALLS.number(brackets[0].lower), BALLS.number(brackets[0].upper))
    e4 = apriori_bounds(BALLS, san, len(ids), BALLS.number(brackets[0].upper))
    published = published_bounds(BALLS, san, r0)
    return [{name: decide((b.lower, b.upper), _enclosure(bound[l]), certified=BALLS.certified)
             for name, bound in (("E4", e4), ("published", published))}
            for l, b in enumerate(brackets) if l > 0]


def _one_step_verdict(folder: str, seed: int, ids, l: int):
    """Certified verdict (balls) of Lemma E2 at layer ``l`` of the pretrained weights for one
    sequence: ``r(SA_l(X)) <= bound(X)`` at the exact doubles ``X`` of the pure-attention
    variant's input of layer l (the float64 split pass; the lemma holds for every X), with
    x = the token mean of its residual part."""
    from rankcollapse.numerics.bounds import one_step_bound
    from rankcollapse.numerics.residual import residual_bracket
    from rankcollapse.numerics.verdict import decide

    config, state, block_list = _blocks(folder, "pretrained", seed)
    san, _ = _san(folder, "pretrained", seed)
    Z = forward_split(ctx, arch.variant(config, block_list, "pure-attention"), arch.embed(config, state, ids))[l - 1]
    Zb = Split(BALLS.array(Z.c), BALLS.array(Z.R))
    bound = one_step_bound(BALLS, Zb, Z.R.mean(axis=0), san.layers[l - 1], config.d_qk)
    b = residual_bracket(BALLS, layer_forward(BALLS, Zb, san.layers[l - 1], config.d_qk).R, exact=False)
    return decide((b.lower, b.upper), _enclosure(bound), certified=BALLS.certified)


def _attention_paths(config, net, outputs, rows, brackets: int) -> list:
    """Residual ratios of ``P_path = P^{l_k}_{h_k} ... P^{l_1}_{h_1}`` (Thm 2.1) in the full
    model for ``rows = [(k, i, layers, heads), ...]`` (sample i of length k, drawn by
    :func:`_draw_paths` on this sequence): k distinct layers l_1 < ... < l_k and a head per
    layer, ``P^l_h`` computed on the actual input of layer l (GPT-2: causal attention
    matrices). Returns ``[(k, i, token-mean ratio, r upper end or nan), ...]``; samples
    ``i < brackets`` also get the r bracket."""
    mask = mask_matrix(config.mask, outputs[0].R.shape[0])
    out = []
    for k, i, layers, heads in rows:
        P = np.eye(outputs[0].R.shape[0])
        for l, h in zip(layers, heads):
            P = attention_probs(ctx, outputs[l].X, net.layers[l].attention.heads[h], config.d_qk, mask) @ P
        out.append((k, i, *residual_ratios(P, exact=i < brackets)))
    return out


def _e4_log10(constants, n: int, d_qk: int, log10_B0: float) -> list:
    """Theorem E4's ``log10 B_l`` in log space (mpmath), ``None`` once it is not representable.

    Same recursion as :func:`rankcollapse.numerics.bounds.apriori_bounds` (``B_l = lam 4 Gamma beta H s
    B^3``, ``Gamma = sqrt(n)/2 phi(2 s kappa B^2)``), which evaluates it in a number context and
    overflows here: on the pretrained weights ``log10 B_1`` is about 5e5 and ``log B_2`` has about
    10^6 digits. The per-layer
    constants come from :func:`rankcollapse.numerics.bounds.layer_constants`.
    """
    import mpmath

    with mpmath.workdps(30):
        s = 1 / mpmath.sqrt(d_qk)
        logB, out = mpmath.mpf(log10_B0) * mpmath.log(10), []
        for kappa, beta, H, lam in constants:
            if logB is None or logB > 10**9:  # then t = 2 s kappa B^2 has over 10^9 digits
                logB = None
            else:
                t = 2 * s * kappa * mpmath.exp(2 * logB)
                # log phi(t) = log((e^t - 1)/t) = t - log t + log(1 - e^-t), stable for every t > 0; the
                # last term is below 1e-43 past t = 100 and skipped there (expm1(-t) of a t near
                # 10^(10^6) needs log 2 to a million digits: seconds per worker)
                log_phi = t - mpmath.log(t) + (mpmath.log(-mpmath.expm1(-t)) if t < 100 else 0)
                logB = (mpmath.log(lam * 4 * beta * H * s * mpmath.sqrt(n) / 2) + log_phi + 3 * logB)
            out.append(None if logB is None else logB / mpmath.log(10))
    return out


def _san(folder: str, init: str, seed: int):
    return _san_cached(folder, init, seed, _stamp(folder))


@functools.lru_cache(maxsize=1)
def _san_cached(folder: str, init: str, seed: int, stamp: tuple):
    """The theory's SAN of the checkpoint (no skip, no MLP, no LayerNorm) and its layer constants
    (kappa, beta_E2, beta_pub, H, lam), once per process."""
    from rankcollapse.numerics.bounds import layer_constants

    config, _, block_list = _blocks(folder, init, seed)
    san = arch.network(config, block_list, skip=False, mlp=False, layernorm=False)
    return san, [layer_constants(ctx, layer) for layer in san.layers]


def _explicit_bounds(folder, init, seed, ids, X0, pure_inputs) -> dict:
    """docs/theory.md §4 on one sequence, per layer, as log10 values.

    * ``one_step`` (Lemma E2): the attention sublayer of layer l (its LayerNorm removed, since
      the lemma is about ``SA`` alone) at the actual input ``X^{l-1}`` of the pure-attention
      variant (``pure_inputs``), with x = the token mean; observed ``r(SA_l(X^{l-1}))``.
    * ``E4`` (a priori) and ``published`` (Cor 2.3 with gamma = 1 and one beta for all layers,
      as stated): the theory's SAN (no skip, no MLP, no LayerNorm) from ``X^0``, with
      ``B_0 = r0`` = the token-mean residual of ``X^0``; observed ``r(X^l)`` in that SAN.

    "Observed" is the token-mean residual, an upper bound within a factor 2 of r (see
    docs/real_model.md), so log10(bound / observed) understates the gap by at most 0.31; the
    published form raises that same r0 to 3^l, so it can overstate its own bound by up to
    3^l log10(r0 / r(X^0)) (docs/real_model.md gives the measured size). The observed value is
    read from the split's residual part, so it is a measurement far below the float64 floor
    of a whole matrix; None where that part is exactly 0 in doubles.
    """
    from rankcollapse.numerics.bounds import one_step_bound, published_closed_form

    san, constants = _san(folder, init, seed)
    config = _blocks(folder, init, seed)[0]
    beta_published = max(c[2] for c in constants)
    san_outputs = forward_split(ctx, san, X0)
    r0 = _residual_norm(X0)
    e4 = _e4_log10([(k, b, H, lam) for k, b, _, H, lam in constants], len(ids), config.d_qk, math.log10(r0))
    rows = {}
    for l in range(1, config.layers + 1):
        Z, layer = pure_inputs[l - 1], san.layers[l - 1]
        bound = one_step_bound(ctx, Z, Z.R.mean(axis=0), layer, config.d_qk)  # x = token mean
        rows[l] = {"one_step": math.log10(bound) if bound > 0 else None,
                   "one_step_observed": _log10_residual(layer_forward(ctx, Z, layer, config.d_qk)),
                   "E4": e4[l - 1],
                   "published": float(published_closed_form(l, config.heads, beta_published, "1", config.d_qk,
                                                            r0)["log10"]),
                   "san_observed": _log10_residual(san_outputs[l])}
    return rows


# A relative residual below this is float64 rounding noise, not a measurement (docs/theory.md §5): the
# entries are O(||X||_max) and each carries a relative rounding error of about 1e-16 times the
# number of terms summed into it.
FLOAT64_FLOOR = 1e-12


def _residual_norm(X) -> float:
    """The token-mean residual norm (measured as in :func:`residual_ratios`)."""
    return residual_ratios(X, exact=False)[0] * float(norm_composite(ctx, np.asarray(X)))


def _log10_residual(Z) -> float | None:
    """log10 of the token-mean residual norm of a split, from its residual part alone (accurate
    relative to itself); None where the rows are exactly equal."""
    value = residual_norm(Z.R)
    return math.log10(value) if value > 0 else None


def run_experiment(model_dir: str | None = None, sequences: int = 32, tokens: int = 128,
                   input_ids: str | None = None, bracket_sequences: int | None = None, path_samples: int = 64,
                   seed: int = 0, jobs: int = 1, progress=None, path_brackets: int = 0,
                   scheduler: str | None = None, balls_sequences: int | None = None,
                   certify: bool = False) -> Experiment:
    """The whole measurement. ``bracket_sequences``: how many sequences get r brackets (None:
    all); ``path_brackets``: path samples per length that get one; ``balls_sequences``: how
    many sequences get their values below the double range in balls (None:
    :data:`BALLS_SEQUENCES`); ``certify``: certified verdicts of the explicit bounds on
    sequence 0 (balls: about 2 min on MiniLM with 2 cores). ``progress(total)``
    returns an ``advance()`` callback (or None)."""
    balls_sequences = BALLS_SEQUENCES if balls_sequences is None else balls_sequences
    for option, value, least in (("--bracket-sequences", bracket_sequences, 0), ("--balls-sequences", balls_sequences, 0),
                                 ("--path-brackets", path_brackets, 0), ("--path-samples", path_samples, 1),
                                 ("--jobs", jobs, 1)):
        if value is not None and value < least:
            raise UsageError(f"{option} must be >= {least}, got {value}")
    with one_blas_thread():
        return _run(model_dir, sequences, tokens, input_ids, bracket_sequences, path_samples, seed, jobs,
                    progress, path_brackets, scheduler, balls_sequences, certify)


def _run(model_dir, sequences, tokens, input_ids, bracket_sequences, path_samples, seed, jobs, progress,
         path_brackets, scheduler, balls_sequences, certify):
    start = time.perf_counter()
    model = open_model(model_dir)
    ids = read_input_ids(input_ids, model) if input_ids else token_ids(model, sequences, tokens)
    config = model.config
    n_bracket = len(ids) if bracket_sequences is None else min(bracket_sequences, len(ids))
    lengths = [k for k in PATH_LENGTHS if k <= config.layers]
    with_bounds = config.bounds_reason is None  # stated for unmasked attention without positional terms
    rng = np.random.default_rng(seed)
    specs = {init: _draw_paths(rng, len(ids), config, lengths, path_samples) for init in INITS}
    # the certified verdicts on sequence 0 (balls, the long tasks) first, the sequences fill in after
    verdicts = ([("san", model.folder, seed, ids[0])]
                + [("one_step", model.folder, seed, ids[0], l) for l in range(1, config.layers + 1)]
                if with_bounds and certify else [])
    # then the sequences with values in balls (up to 20 times longer), so that no worker is left
    # with one of them at the end
    keys = sorted(((init, s) for init in INITS for s in range(len(ids))), key=lambda key: key[1] >= balls_sequences)
    tasks = verdicts + [("sequence", model.folder, init, seed, ids[s], s < n_bracket, s < balls_sequences,
              [(k, i, layers, heads) for k, rows in specs[init].items() for i, (t, layers, heads) in enumerate(rows)
               if t == s], path_brackets, with_bounds and init == "pretrained")
             for init, s in keys]
    advance = progress(len(tasks)) if progress else (lambda: None)
    results = map_tasks(_task, tasks, jobs=jobs, scheduler=scheduler, star=True, on_done=lambda k: advance())
    exp = Experiment(model.name, config.architecture, len(ids), len(ids[0]), n_bracket, seed, jobs=jobs)
    verdicts, by_key, n = results[:len(verdicts)], dict(zip(keys, results[len(verdicts):])), len(ids)
    results = [by_key[init, s] for init in INITS for s in range(n)]
    for j, init in enumerate(INITS):
        rows = results[j * n:(j + 1) * n]
        exp.curves += [Curves(name, init, [row["variants"][name] for row in rows]) for name in arch.VARIANTS]
        found = {(k, i): (tm, r) for row in rows for k, i, tm, r in row["paths"]}
        exp.paths[init] = {k: [found[k, i] for i in range(len(specs[init][k]))] for k in lengths}
    if with_bounds:
        per_sequence = [row["bounds"] for row in results[:n]]
        exp.bounds = {"weights": "pretrained", "layers": [
            {"layer": l, **{key: [b[l][key] for b in per_sequence] for key in per_sequence[0][l]},
             "verdicts": {**verdicts[0][l - 1], "one_step": verdicts[l]} if verdicts else None}
            for l in per_sequence[0]]}
    exp.seconds = time.perf_counter() - start
    return exp
