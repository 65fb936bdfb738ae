"""Inputs and measurements of the real-model experiment.

Everything runs in float64: this is an experiment, not a certificate (THEORY 5).
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from rankcollapse.errors import UsageError
from rankcollapse.numerics import bert
from rankcollapse.numerics.context import get_context
from rankcollapse.numerics.network import attention_probs, forward, forward_split, layer_forward
from rankcollapse.numerics.norms import norm_composite

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
INITS = ("pretrained", "random")
PATH_LENGTHS = range(1, 7)
ctx = get_context("float64")

# -- inputs ---------------------------------------------------------------------------------

def load_passages() -> list[str]:
    """The packaged passages: paragraphs separated by blank lines, '#' lines are comments."""
    text = (resources.files("rankcollapse") / "data" / "english.txt").read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", body) if p.strip()]


def token_ids(sequences: int, tokens: int) -> list[np.ndarray]:
    """The first ``sequences`` passages as exactly ``tokens`` ids each ([CLS] ... [SEP]), so no
    padding is needed and every sequence has the same n."""
    passages = load_passages()
    if not 1 <= sequences <= len(passages):
        raise UsageError(f"--sequences must be between 1 and {len(passages)}, got {sequences}")
    tok = bert.load_tokenizer(tokens)
    ids = [np.array(tok.encode(p).ids) for p in passages[:sequences]]
    short = [i for i, x in enumerate(ids) if len(x) < tokens]
    if short:
        raise UsageError(f"--tokens {tokens}: passage(s) {short} are shorter than that")
    return ids


# -- measurements ---------------------------------------------------------------------------

def residual_ratios(X, exact: bool) -> tuple[float, float]:
    """``(token-mean ratio, exact ratio or nan)`` of one matrix."""
    from rankcollapse.numerics.residual import r_float, token_mean_residual

    size = float(norm_composite(ctx, X))
    # r and the token-mean residual are shift invariant, and subtracting a row is exact once the
    # rows are close (Sterbenz): so near collapse we measure the computed matrix, not the
    # rounding of its column means.
    token_mean = float(norm_composite(ctx, token_mean_residual(ctx, X - X[0]))) / size
    return token_mean, (r_float(X) / size if exact else math.nan)


@dataclass
class Curves:
    """One variant at one initialisation: ratios[sequence, layer] (nan = not computed)."""

    name: str
    init: str
    token_mean: np.ndarray
    exact: np.ndarray


@dataclass
class Experiment:
    sequences: int
    tokens: int
    exact_sequences: int
    seed: int
    curves: list = field(default_factory=list)
    paths: dict = field(default_factory=dict)     # init -> {length: [(token_mean, exact), ...]}
    bounds: dict = field(default_factory=dict)
    seconds: float = 0.0


def _collapse_curves(config, state, init, ids, exact_sequences, advance) -> list[Curves]:
    nets = {name: bert.variant(config, state, name) for name in bert.VARIANTS}
    shape = (len(ids), config.layers + 1)
    tm = {name: np.full(shape, math.nan) for name in nets}
    ex = {name: np.full(shape, math.nan) for name in nets}
    for s, x in enumerate(ids):
        X0 = bert.embed(config, state, x)
        first = residual_ratios(X0, exact=s < exact_sequences)  # layer 0 is shared by all variants
        for name, net in nets.items():
            tm[name][s, 0], ex[name][s, 0] = first
            for l, Xl in enumerate(forward(net, X0, ctx)[1:], start=1):
                tm[name][s, l], ex[name][s, l] = residual_ratios(Xl, exact=s < exact_sequences)
            advance()
    return [Curves(name, init, tm[name], ex[name]) for name in nets]


def _attention_paths(config, state, ids, samples, exact_samples, rng, advance) -> dict:
    """Residual ratios of ``P_path = P^{l_k}_{h_k} ... P^{l_1}_{h_1}`` (Thm 2.1) in the full
    model: k distinct layers l_1 < ... < l_k and a head per layer, drawn at random, on a random
    sequence, as in the paper's path experiment."""
    net = bert.variant(config, state, "full")
    # P^l_h is computed on the actual input of layer l in the full model.
    inputs = [forward(net, bert.embed(config, state, x), ctx)[:-1] for x in ids]
    out = {}
    for k in PATH_LENGTHS:
        rows = []
        for i in range(samples):
            s = rng.integers(len(ids))
            P = np.eye(len(ids[s]))
            for l in sorted(rng.choice(config.layers, size=k, replace=False)):
                head = net.layers[l].attention.heads[rng.integers(config.heads)]
                P = attention_probs(ctx, inputs[s][l], head, config.d_qk) @ P
            rows.append(residual_ratios(P, exact=i < exact_samples))
            advance()
        out[k] = rows
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
                # log phi(t) = log((e^t - 1)/t), stable for every t > 0
                log_phi = t + mpmath.log(-mpmath.expm1(-t)) - mpmath.log(t)
                logB = (mpmath.log(lam * 4 * beta * H * s * mpmath.sqrt(n) / 2) + log_phi + 3 * logB)
            out.append(None if logB is None else logB / mpmath.log(10))
    return out


def _explicit_bounds(config, state, ids, advance) -> list[dict]:
    """THEORY 4 on the pretrained weights, per layer and sequence, as log10 values.

    * ``one_step`` (Lemma E2): the attention sublayer of layer l (its LayerNorm removed, since
      the lemma is about ``SA`` alone) at the actual input ``X^{l-1}`` of the pure-attention
      variant, with x = the token mean; observed ``r(SA_l(X^{l-1}))``.
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
    from rankcollapse.numerics.bounds import layer_constants, one_step_bound, published_closed_form

    pure = bert.variant(config, state, "pure-attention")
    san = bert.network(config, state, skip=False, mlp=False, layernorm=False)
    constants = [layer_constants(ctx, layer) for layer in san.layers]  # (kappa, beta_E2, beta_pub, H, lam)
    beta_published = max(c[2] for c in constants)
    rows = {l: {"one_step": [], "one_step_observed": [], "E4": [], "published": [], "san_observed": []}
            for l in range(1, config.layers + 1)}
    for x in ids:
        X0 = bert.embed(config, state, x)
        # splits (rankcollapse.numerics.network.Split): their residual parts stay accurate far below the
        # float64 floor, except where a LayerNorm (pure-attention variant) rounds them to 0
        pure_inputs, san_outputs = forward_split(pure, X0, ctx), forward_split(san, X0, ctx)
        r0 = _residual_norm(X0)
        e4 = _e4_log10([(k, b, H, lam) for k, b, _, H, lam in constants], len(x), config.d_qk,
                       math.log10(r0))
        for l, row in rows.items():
            Z, layer = pure_inputs[l - 1], san.layers[l - 1]
            bound = one_step_bound(ctx, Z, Z.R.mean(axis=0), layer, config.d_qk)  # x = token mean
            row["one_step"].append(math.log10(bound) if bound > 0 else None)
            row["one_step_observed"].append(_log10_residual(layer_forward(ctx, Z, layer, config.d_qk)))
            row["E4"].append(e4[l - 1])
            row["published"].append(float(published_closed_form(
                l, config.heads, beta_published, "1", config.d_qk, r0)["log10"]))
            row["san_observed"].append(_log10_residual(san_outputs[l]))
        advance()
    return [{"layer": l, **row} for l, row in rows.items()]


# A relative residual below this is float64 rounding noise, not a measurement (THEORY 5): the
# entries are O(||X||_max) and each carries a relative rounding error of about 1e-16 times the
# number of terms summed into it.
FLOAT64_FLOOR = 1e-12


def _residual_norm(X) -> float:
    """The token-mean residual norm (measured as in :func:`residual_ratios`)."""
    return residual_ratios(X, exact=False)[0] * float(norm_composite(ctx, X))


def _log10_residual(Z) -> float | None:
    """log10 of the token-mean residual norm of a split, from its residual part alone (accurate
    relative to itself); None where the rows are exactly equal."""
    from rankcollapse.numerics.residual import token_mean_residual

    value = float(norm_composite(ctx, token_mean_residual(ctx, Z.R)))
    return math.log10(value) if value > 0 else None


def run_experiment(sequences: int = 32, tokens: int = 128, exact_sequences: int = 1,
                   path_samples: int = 64, seed: int = 0, progress=None) -> Experiment:
    """The whole measurement. ``progress(total)`` returns an ``advance()`` callback (or None)."""
    if exact_sequences < 0 or path_samples < 1:
        raise UsageError("--exact-sequences must be >= 0 and --path-samples >= 1")
    start = time.perf_counter()
    try:
        config, pretrained = bert.load_pretrained()
        if not 2 <= tokens <= config.max_position:  # [CLS] and [SEP] take two
            raise UsageError(f"--tokens must be between 2 and {config.max_position}, got {tokens}")
        ids = token_ids(sequences, tokens)
    except bert.ModelUnavailable as e:
        raise UsageError(str(e)) from None
    states = {"pretrained": pretrained, "random": bert.random_state(config, seed)}
    exact_paths = min(exact_sequences, path_samples)
    total = len(states) * (len(bert.VARIANTS) * sequences + len(PATH_LENGTHS) * path_samples) + sequences
    advance = progress(total) if progress else (lambda: None)
    exp = Experiment(sequences, tokens, min(exact_sequences, sequences), seed)
    rng = np.random.default_rng(seed)
    for init, state in states.items():
        exp.curves += _collapse_curves(config, state, init, ids, exact_sequences, advance)
        exp.paths[init] = _attention_paths(config, state, ids, path_samples, exact_paths, rng, advance)
    exp.bounds = {"weights": "pretrained", "layers": _explicit_bounds(config, pretrained, ids, advance)}
    exp.seconds = time.perf_counter() - start
    return exp
