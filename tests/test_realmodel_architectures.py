"""Every supported architecture against Hugging Face: a tiny random checkpoint is built with
``transformers`` from a config (offline), saved with ``save_pretrained`` as safetensors, read
back by :func:`rankcollapse.numerics.checkpoint.load`, and every hidden state of our forward
pass is compared with Hugging Face's (skips without torch + transformers).

XLNet: Hugging Face computes the sinusoid table of its relative positions in float32 even in a
float64 model (about 1e-8 relative at 8 tokens, growing with the distance); ours is float64.
The float64 comparisons therefore run Hugging Face with the same formula in float64
(:func:`_xlnet_table_in_float64`), the float32 ones as it is."""

import contextlib
import dataclasses
import json
from unittest import mock

import numpy as np
import pytest

from rankcollapse.numerics import architectures as arch
from rankcollapse.numerics.checkpoint import CheckpointError, load
from rankcollapse.numerics.context import get_context
from rankcollapse.numerics.instance import instance_to_json
from rankcollapse.numerics.network import Network, forward, forward_split

torch = pytest.importorskip("torch", reason="needs torch (CPU) to build the reference checkpoints")
transformers = pytest.importorskip("transformers", reason="needs transformers to build the reference checkpoints")

F64 = get_context("float64")
D, HEADS, LAYERS, FF, VOCAB, POS = 12, 3, 3, 20, 40, 24

CONFIGS = {
    "bert": lambda: transformers.BertConfig(hidden_size=D, num_attention_heads=HEADS, num_hidden_layers=LAYERS,
                                            intermediate_size=FF, vocab_size=VOCAB, max_position_embeddings=POS),
    "roberta": lambda: transformers.RobertaConfig(hidden_size=D, num_attention_heads=HEADS,
                                                  num_hidden_layers=LAYERS, intermediate_size=FF,
                                                  vocab_size=VOCAB, max_position_embeddings=POS, type_vocab_size=1),
    "albert": lambda: transformers.AlbertConfig(hidden_size=D, embedding_size=6, num_attention_heads=HEADS,
                                                num_hidden_layers=LAYERS, intermediate_size=FF, vocab_size=VOCAB,
                                                max_position_embeddings=POS),
    "distilbert": lambda: transformers.DistilBertConfig(dim=D, n_heads=HEADS, n_layers=LAYERS, hidden_dim=FF,
                                                        vocab_size=VOCAB, max_position_embeddings=POS),
    "gpt2": lambda: transformers.GPT2Config(n_embd=D, n_head=HEADS, n_layer=LAYERS, vocab_size=VOCAB,
                                            n_positions=POS, bos_token_id=0, eos_token_id=0),
    "xlnet": lambda: transformers.XLNetConfig(d_model=D, n_head=HEADS, n_layer=LAYERS, d_inner=FF, vocab_size=VOCAB),
}
IDS = [[2, 7, 1, 8, 28, 18, 3, 14], [31, 4, 15, 9, 26, 5, 35, 8]]


def _checkpoint(kind, folder, dtype, **settings):
    """A tiny random model of ``kind`` saved in ``folder``; every parameter O(1) so attention is
    far from uniform and every bias and LayerNorm parameter matters."""
    cfg = CONFIGS[kind]()
    for key, value in settings.items():
        setattr(cfg, key, value)
    cfg._attn_implementation = "eager"
    torch.manual_seed(0)
    model = transformers.AutoModel.from_config(cfg).to(dtype).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.5)
    model.save_pretrained(folder, safe_serialization=True)
    return model


@contextlib.contextmanager
def _xlnet_table_in_float64():
    """Hugging Face's ``relative_positional_encoding`` (attn_type "bi", no bi_data), in float64."""
    from transformers.models.xlnet.modeling_xlnet import XLNetModel

    def table(self, qlen, klen, bsz=None, device=None):
        inv_freq = 1 / 10000 ** (torch.arange(0, self.d_model, 2, dtype=torch.float64) / self.d_model)
        positions = torch.arange(klen, -qlen, -1, dtype=torch.float64)
        if self.clamp_len > 0:
            positions = positions.clamp(-self.clamp_len, self.clamp_len)
        return self.positional_embedding(positions, inv_freq, bsz)

    with mock.patch.object(XLNetModel, "relative_positional_encoding", table):
        yield


def _hidden_states(model, ids):
    """Hugging Face's hidden states (an XLNet in float64 with its position table in float64)."""
    exact_table = isinstance(model, transformers.XLNetModel) and model.dtype == torch.float64
    with torch.no_grad(), _xlnet_table_in_float64() if exact_table else contextlib.nullcontext():
        out = model(input_ids=torch.tensor(ids), output_hidden_states=True)
    return [h.double().numpy() for h in out.hidden_states]


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-10), (torch.float32, 1e-5)], ids=["float64", "float32"])
@pytest.mark.parametrize("kind", list(CONFIGS))
def test_every_hidden_state_matches_hugging_face(kind, dtype, tol, tmp_path):
    model = _checkpoint(kind, tmp_path, dtype)
    config, state = load(tmp_path)
    assert config.architecture == kind and config.layers == LAYERS and config.d_qk == D // HEADS
    hf = _hidden_states(model, IDS)
    assert len(hf) == LAYERS + 1
    net = arch.variant(config, state, "full")
    for s, ids in enumerate(IDS):
        ours = forward(F64, net, arch.embed(config, state, ids))
        if kind == "gpt2":  # Hugging Face's last hidden state has ln_f applied; ours is the block output
            ours[-1] = arch.final_norm(config, state, ours[-1])
        scale = max(np.abs(H[s]).max() for H in hf)
        for layer, (X, H) in enumerate(zip(ours, hf)):
            assert np.abs(X - H[s]).max() <= tol * scale, (kind, layer)


def test_causal_mask_is_needed_for_gpt2(tmp_path):
    """Without its causal mask our GPT-2 differs from Hugging Face's: the test above is not
    passing by accident."""
    model = _checkpoint("gpt2", tmp_path, torch.float64)
    config, state = load(tmp_path)
    net = arch.variant(config, state, "full")
    assert all(layer.attention.mask == "causal" for layer in net.layers)
    unmasked = Network(net.d_qk, tuple(dataclasses.replace(layer, attention=dataclasses.replace(layer.attention, mask=None))
                                       for layer in net.layers))
    X = forward(F64, unmasked, arch.embed(config, state, IDS[0]))[1]
    assert np.abs(X - _hidden_states(model, IDS[:1])[1][0]).max() > 1e-3


def test_xlnet_relative_positions(tmp_path):
    """XLNet with ``clamp_len`` shorter than the sequence agrees with Hugging Face in float64 and
    in arb balls (128 bits: the same code in a certified context); without its relative
    positional logits it does not; Hugging Face's own float32 table is off by more than 1e-10."""
    model = _checkpoint("xlnet", tmp_path, torch.float64, clamp_len=3)
    config, state = load(tmp_path)
    assert config.clamp_len == 3 and config.bounds_reason is not None
    hf = _hidden_states(model, IDS[:1])
    net = arch.variant(config, state, "full")
    assert not any(layer.attention.plain for layer in net.layers)  # so the paper's bounds never apply
    X0 = arch.embed(config, state, IDS[0])
    scale = max(np.abs(H[0]).max() for H in hf)
    arb = get_context("arb")
    with arb.workprec(128):
        balls = forward(arb, net, X0)
    for layer, (X, H) in enumerate(zip(balls, hf)):
        assert np.abs(arb.to_float(X) - H[0]).max() <= 1e-10 * scale, layer
    absolute = Network(net.d_qk, tuple(dataclasses.replace(layer, attention=dataclasses.replace(
        layer.attention, heads=tuple(dataclasses.replace(h, relative=None) for h in layer.attention.heads)))
        for layer in net.layers))
    assert np.abs(forward(F64, absolute, X0)[1] - hf[1][0]).max() > 1e-3
    with pytest.raises(ValueError, match="relative positional logits"):  # not dropped when saved
        instance_to_json(X0, net)
    with torch.no_grad():  # Hugging Face as it is: its float32 sinusoids
        as_is = model(input_ids=torch.tensor(IDS[:1]), output_hidden_states=True).hidden_states[-1][0].numpy()
    assert 1e-10 * scale < np.abs(as_is - hf[-1][0]).max() < 1e-5 * scale


def test_task_model_prefix_is_stripped(tmp_path):
    cfg = CONFIGS["bert"]()
    torch.manual_seed(0)
    transformers.BertForMaskedLM(cfg).save_pretrained(tmp_path, safe_serialization=True)
    config, state = load(tmp_path)
    assert "embeddings.word_embeddings.weight" in state and not any(k.startswith("bert.") for k in state)


def test_unsupported_model_type_is_named(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "t5"}))
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(CheckpointError, match="model_type 't5' is not supported; supported: bert, roberta"):
        load(tmp_path)


@pytest.mark.parametrize("kind", list(CONFIGS))
def test_random_state_follows_the_architecture(kind, tmp_path):
    """Our random initialisation has exactly Hugging Face's parameter names and shapes (those
    the forward pass reads) and its standard deviations."""
    cfg = CONFIGS[kind]()
    cfg.initializer_range = 0.05
    torch.manual_seed(0)  # Hugging Face draws from torch's global generator: a fixed draw, not a flaky one
    _ = transformers.AutoModel.from_config(cfg).save_pretrained(tmp_path, safe_serialization=True)
    config, hf_state = load(tmp_path)
    ours = arch.random_state(config, seed=3)
    assert set(ours) <= set(hf_state)
    for name, value in ours.items():
        assert value.shape == hf_state[name].shape, name
    for name, value in ours.items():  # the same distribution as Hugging Face's own initialisation
        theirs = hf_state[name].astype(np.float64)
        if value.size > 100:
            assert 0.8 < value.std() / theirs.std() < 1.25, name
        elif theirs.std() == 0:  # biases, LayerNorm: constant
            np.testing.assert_array_equal(value, theirs, err_msg=name)
    np.testing.assert_array_equal(ours[next(iter(ours))], arch.random_state(config, seed=3)[next(iter(ours))])


@pytest.mark.parametrize("kind", list(CONFIGS))
def test_a_layer_in_long_doubles_is_the_layer_in_doubles(kind):
    """Where doubles hold the values, the long-double layer (the real model's path below the
    double range: masks, pre-LN, relative positions, each activation) gives the float64 layer's
    token-mean ratio and r bracket to 1e-12."""
    from fractions import Fraction

    from rankcollapse.realmodel import measure

    config = arch.Config.from_hf(CONFIGS[kind]().to_dict())
    state = arch.random_state(config, seed=0)
    for name in ("pure-attention", "attention+mlp"):
        net = arch.variant(config, state, name)
        outs = forward_split(F64, net, arch.embed(config, state, IDS[0]))
        _, long = measure.long_ratios(outs[1], net.layers[1], net.d_qk, True)
        double = measure.ratios(outs[2], True)
        assert long.long_double and not double.long_double
        for a, b in ((long.token_mean, double.token_mean), *zip(long.r_ratio, double.r_ratio)):
            assert abs(Fraction(a) - Fraction(b)) <= abs(Fraction(b)) / 10**12, (kind, name)


def _token_mean_ratio(X):
    from rankcollapse.numerics.norms import norm_composite

    R = X - X[0]
    return float(norm_composite(F64, R - R.mean(axis=0))) / float(norm_composite(F64, X))


def test_xlnet_residuals_below_the_double_floor():
    """XLNet's weights differ from row to row (relative positions), and the split pass still
    carries the residual far below float64's 1e-16 floor: 10 pure-attention layers at XLNet's
    random initialisation bring it to about 3e-31, and the float64 value agrees with arb at
    400 bits to 1e-10 relative (before the rows' common part moved into c, it stalled at 1e-15)."""
    config = arch.Config.from_hf({"model_type": "xlnet", "d_model": D, "n_head": HEADS, "n_layer": 10,
                                  "d_inner": FF, "vocab_size": VOCAB})
    state = arch.random_state(config, seed=0)
    net, X0 = arch.variant(config, state, "pure-attention"), arch.embed(config, state, IDS[0])
    arb = get_context("arb")
    with arb.workprec(400):
        exact = arb.to_float(forward_split(arb, net, X0)[-1].R)
    spread = lambda R: np.abs(R - R[0]).max()  # noqa: E731 (rows minus row 0: exact, Sterbenz)
    assert 0 < spread(exact) < 1e-25
    assert abs(spread(forward_split(F64, net, X0)[-1].R) / spread(exact) - 1) < 1e-10


@pytest.mark.parametrize("kind", ["gpt2", "xlnet"])  # the others: their hidden states match (above)
def test_cli_on_a_checkpoint_matches_hugging_face_ratios(kind, tmp_path, capsys):
    """``real-model --model DIR --input-ids FILE``: the full variant's pretrained token-mean ratios
    are those of Hugging Face's hidden states; --jobs 2 gives the same report as --jobs 1; the
    explicit bounds are n/a, with the reason."""
    from rankcollapse.cli import main

    model = _checkpoint(kind, tmp_path / "model", torch.float64)
    (tmp_path / "ids.json").write_text(json.dumps({"input_ids": IDS}))
    reports = []
    for jobs in ("1", "2"):
        out = tmp_path / f"report{jobs}.json"
        assert main(["real-model", "--model", str(tmp_path / "model"), "--input-ids", str(tmp_path / "ids.json"),
                     "--path-samples", "2", "--bracket-sequences", "0", "--jobs", jobs, "--json", str(out)]) == 0
        reports.append(json.loads(out.read_text()))
    for r in reports:
        r.pop("seconds"), r.pop("jobs")
    assert all(r == reports[0] for r in reports)
    report = reports[0]
    assert report["architecture"] == kind and report["format"] == "rankcollapse-realmodel/4"
    assert report["bounds"] is None  # the bounds are stated for unmasked, non-relative attention
    assert f"explicit bounds: n/a ({arch.BOUNDS_NOT_APPLICABLE[kind]})" in " ".join(capsys.readouterr().out.split())
    full = next(v for v in report["variants"] if v["name"] == "full" and v["init"] == "pretrained")
    hf = _hidden_states(model, IDS)
    if kind == "gpt2":  # HF's last hidden state has ln_f: compare the layers before it
        hf = hf[:-1]
    for layer, H in enumerate(hf):
        for s in range(len(IDS)):
            got = float(full["layers"][layer]["token_mean"][s])
            assert abs(got - _token_mean_ratio(H[s])) <= 1e-9 * got, (layer, s)


def test_cli_errors_name_the_problem(tmp_path, capsys):
    from rankcollapse.cli import main

    _checkpoint("bert", tmp_path / "model", torch.float32)
    cases = [({"input_ids": [[1, 2, 3], [1, 2]]}, "input_ids[1] has 2 ids, input_ids[0] has 3"),
             ({"input_ids": [[1, 2, 99]]}, "input_ids[0] has 99, not a token id between 0 and 39"),
             ({"ids": [[1, 2]]}, 'expected {"input_ids": [[...], ...]}')]
    for data, message in cases:
        (tmp_path / "ids.json").write_text(json.dumps(data))
        assert main(["real-model", "--model", str(tmp_path / "model"), "--input-ids", str(tmp_path / "ids.json")]) == 2
        text = " ".join(capsys.readouterr().err.split())
        assert message in text and "Traceback" not in text
    assert main(["real-model", "--model", str(tmp_path / "model"), "--tokens", "8"]) == 2  # no tokenizer.json
    assert "give the token ids with --input-ids FILE" in " ".join(capsys.readouterr().err.split())
    (tmp_path / "model" / "config.json").write_text(json.dumps({"model_type": "t5"}))
    assert main(["real-model", "--model", str(tmp_path / "model")]) == 2
    assert "model_type 't5' is not supported; supported: bert, roberta, albert, distilbert, gpt2, xlnet" in \
        " ".join(capsys.readouterr().err.split())
    (tmp_path / "model" / "config.json").write_text(json.dumps({"model_type": "xlnet", "attn_type": "uni"}))
    assert main(["real-model", "--model", str(tmp_path / "model")]) == 2
    assert "xlnet: only attn_type 'bi'" in " ".join(capsys.readouterr().err.split())
