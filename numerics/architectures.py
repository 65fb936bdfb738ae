"""Hugging Face transformer checkpoints as :class:`rankcollapse.numerics.network.Network`.

Supported ``model_type`` values (:data:`ARCHITECTURES`): ``bert``, ``roberta``, ``albert``,
``distilbert`` (post-LN encoders), ``gpt2`` (pre-LN decoder, causal mask) and ``xlnet`` (post-LN,
relative positional attention: the content stream of ``XLNetModel``). A state is the
checkpoint's dict of parameter names to arrays (Hugging Face names, any head prefix such as
``bert.`` removed); :func:`random_state` builds one in the same names at the architecture's own
initialisation, so pretrained and random weights take the same path.

Every block becomes a :class:`Block` of matrices that act on token rows from the right: torch's
``Linear`` stores ``W`` as out x in and computes ``x W^T + b``, so its weights are transposed;
GPT-2's ``Conv1D`` stores in x out and computes ``x W + b``, so its weights are not, and its
fused ``c_attn`` splits into the query, key and value columns. Head h takes the columns ``h
d_qk .. (h+1) d_qk - 1`` of ``W_Q``, ``W_K``, ``W_V`` and the same rows of ``W_O``, because
concatenating the heads and projecting is ``sum_h SA_h(X) W_O,h + 1 b_O^T`` (docs/theory.md §2).

* BERT, RoBERTa: word + position + token type 0 embeddings, LayerNorm; RoBERTa numbers its
  positions from ``pad_token_id + 1``, skipping padding tokens, as Hugging Face does. Blocks: attention, skip, post-LN; MLP, skip,
  post-LN.
* ALBERT: the same block, but factorised embeddings (``embedding_size`` < hidden, then the
  linear map ``embedding_hidden_mapping_in``, whose output is layer 0) and shared layers (layer
  l uses group ``l * groups // layers``); tanh GELU.
* DistilBERT: word + position embeddings, LayerNorm; BERT's block under other names.
* GPT-2: word + position embeddings (no LayerNorm: layer 0 is their sum); blocks ``Z +
  SA(LN_1(Z))`` then ``Z + MLP(LN_2(Z))`` (pre-LN); tanh GELU; causal attention. The final
  LayerNorm ``ln_f`` is not a layer (:func:`final_norm` applies it, for comparisons).
* XLNet: word embeddings only (layer 0); BERT's post-LN block, whose heads (parameters stored
  d_model x heads x d_head, no biases) add relative positional logits (:class:`Relative`): the
  content logit ``(Q_i + r_w_bias) . K_j`` (``r_w_bias`` is ``b_Q``) plus ``(Q_i + r_r_bias) .
  (E_{i-j} W_R)``. Modelled as Hugging Face's ``XLNetModel`` runs without ``mems``,
  ``perm_mask``, ``target_mapping`` and ``token_type_ids``: ``attn_type`` "bi" (no mask), one
  segment (the segment term ``(Q_i + r_s_bias) . seg_embed[0]`` is then the same for every key
  of row i, and a softmax drops it), ``bi_data`` off.

Surgery (the paper's Figure 2): a variant keeps or drops the skip connections (both sublayers)
and the MLP sublayer; every remaining sublayer keeps its LayerNorm where the architecture puts
it (:data:`VARIANTS`). GPT-2 keeps its causal mask in every variant.

>>> cfg = Config.from_hf({"model_type": "bert", "hidden_size": 8, "num_attention_heads": 2,
...     "num_hidden_layers": 2, "intermediate_size": 16, "vocab_size": 30,
...     "max_position_embeddings": 16})
>>> state = random_state(cfg, seed=0)
>>> X0 = embed(cfg, state, [1, 5, 7, 2])
>>> X0.shape, cfg.d_qk, cfg.mask
((4, 8), 4, None)
>>> [len(variant(cfg, state, name).layers) for name in VARIANTS]
[2, 2, 2, 2]
>>> xl = Config.from_hf({"model_type": "xlnet", "d_model": 8, "n_head": 2, "n_layer": 2, "d_inner": 16,
...     "vocab_size": 30})
>>> head = variant(xl, random_state(xl, seed=0), "full").layers[0].attention.heads[0]
>>> head.relative.W_R.shape, xl.bounds_reason is not None
((8, 4), True)
>>> Config.from_hf({"model_type": "t5"})
Traceback (most recent call last):
...
ValueError: model_type 't5' is not supported; supported: bert, roberta, albert, distilbert, gpt2, xlnet
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .context import get_context
from .network import MLP, Attention, Head, Layer, LayerNorm, Network, Relative, layer_norm

__all__ = ["ARCHITECTURES", "BOUNDS_NOT_APPLICABLE", "Config", "Block", "VARIANTS", "Surgery", "strip_prefix",
           "random_state", "embed", "blocks", "network", "variant", "final_norm"]

ARCHITECTURES = ("bert", "roberta", "albert", "distilbert", "gpt2", "xlnet")
NO_POSITION_LIMIT = 1 << 30  # XLNet: relative positions have no table of absolute positions
# The explicit bounds (docs/theory.md §4) are proved for unmasked softmax attention without
# positional terms (Attention.plain); for these architectures the report says why they are n/a.
BOUNDS_NOT_APPLICABLE = {
    "gpt2": "they are stated for attention without a mask; this model is causal",
    "xlnet": "they are stated for the paper's attention; XLNet's heads add relative positional logits",
}

# Hugging Face activation names -> ours (rankcollapse.numerics.network.activation)
_ACTIVATIONS = {"gelu": "gelu", "gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "relu": "relu"}


@dataclass(frozen=True)
class Config:
    """What the forward pass needs from a ``config.json``."""

    architecture: str
    hidden: int
    heads: int
    layers: int
    intermediate: int
    vocab: int
    max_position: int
    activation: str = "gelu"
    layer_norm_eps: float = 1e-12
    embedding: int = 0            # ALBERT's factorised embedding size (0: = hidden)
    type_vocab: int = 0           # token type embeddings (0: none)
    groups: int = 1               # ALBERT's hidden groups (shared layers)
    position_offset: int = 0      # RoBERTa: positions start at pad_token_id + 1
    initializer_range: float = 0.02
    pad_token_id: int | None = None
    clamp_len: int = 0            # XLNet: distances beyond +-clamp_len share its encoding (0: none)

    @property
    def d_qk(self) -> int:
        return self.hidden // self.heads

    @property
    def mask(self) -> str | None:
        """Every layer's ``Attention.mask``: "causal" (GPT-2) or None."""
        return "causal" if self.architecture == "gpt2" else None

    @property
    def bounds_reason(self) -> str | None:
        """Why the paper's explicit bounds do not apply to this architecture, or None."""
        return BOUNDS_NOT_APPLICABLE.get(self.architecture)

    @property
    def ln_position(self) -> str:
        return "pre" if self.architecture == "gpt2" else "post"

    @property
    def max_tokens(self) -> int:
        return self.max_position - self.position_offset

    @classmethod
    def from_hf(cls, cfg: dict) -> "Config":
        """From a Hugging Face ``config.json`` (a dict). ValueError names an unsupported
        ``model_type`` or setting."""
        kind = cfg.get("model_type")
        if kind not in ARCHITECTURES:
            raise ValueError(f"model_type {kind!r} is not supported; supported: {', '.join(ARCHITECTURES)}")
        if kind == "gpt2":
            d = cfg.get("n_embd", 768)
            if cfg.get("scale_attn_by_inverse_layer_idx") or not cfg.get("scale_attn_weights", True):
                raise ValueError("gpt2: only the standard attention scaling 1/sqrt(d_qk) is modelled")
            return cls(kind, hidden=d, heads=cfg.get("n_head", 12), layers=cfg.get("n_layer", 12),
                       intermediate=cfg.get("n_inner") or 4 * d, vocab=cfg.get("vocab_size", 50257),
                       max_position=cfg.get("n_positions", 1024),
                       activation=_activation(cfg.get("activation_function", "gelu_new")),
                       layer_norm_eps=cfg.get("layer_norm_epsilon", 1e-5),
                       initializer_range=cfg.get("initializer_range", 0.02))
        if kind == "xlnet":
            return _xlnet_config(cfg)
        if kind == "distilbert":
            return cls(kind, hidden=cfg.get("dim", 768), heads=cfg.get("n_heads", 12),
                       layers=cfg.get("n_layers", 6), intermediate=cfg.get("hidden_dim", 3072),
                       vocab=cfg.get("vocab_size", 30522), max_position=cfg.get("max_position_embeddings", 512),
                       activation=_activation(cfg.get("activation", "gelu")), layer_norm_eps=1e-12,
                       initializer_range=cfg.get("initializer_range", 0.02),
                       pad_token_id=cfg.get("pad_token_id", 0))
        if cfg.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"{kind}: only absolute position embeddings are modelled")
        if kind == "albert" and cfg.get("inner_group_num", 1) != 1:
            raise ValueError("albert: only inner_group_num = 1 (every released ALBERT) is modelled")
        pad = cfg.get("pad_token_id", 1 if kind == "roberta" else 0)
        return cls(kind, hidden=cfg["hidden_size"], heads=cfg["num_attention_heads"],
                   layers=cfg["num_hidden_layers"], intermediate=cfg["intermediate_size"],
                   vocab=cfg["vocab_size"], max_position=cfg["max_position_embeddings"],
                   activation=_activation(cfg.get("hidden_act", "gelu_new" if kind == "albert" else "gelu")),
                   layer_norm_eps=cfg.get("layer_norm_eps", 1e-12),
                   embedding=cfg.get("embedding_size", 128) if kind == "albert" else 0,
                   type_vocab=cfg.get("type_vocab_size", 2),
                   groups=cfg.get("num_hidden_groups", 1) if kind == "albert" else 1,
                   position_offset=pad + 1 if kind == "roberta" else 0,
                   initializer_range=cfg.get("initializer_range", 0.02), pad_token_id=pad)


def _xlnet_config(cfg: dict) -> Config:
    d, heads = cfg.get("d_model", 1024), cfg.get("n_head", 16)
    if cfg.get("attn_type", "bi") != "bi":
        raise ValueError(f"xlnet: only attn_type 'bi' (bidirectional, every released XLNet) is modelled, "
                         f"got {cfg.get('attn_type')!r}")
    if cfg.get("bi_data"):
        raise ValueError("xlnet: bi_data = true (batch halves with reversed positions) is not modelled")
    if d % heads or cfg.get("d_head", d // heads) != d // heads:
        raise ValueError(f"xlnet: d_head must be d_model / n_head = {d} / {heads}, got {cfg.get('d_head')}")
    return Config("xlnet", hidden=d, heads=heads, layers=cfg.get("n_layer", 24), intermediate=cfg.get("d_inner", 4096),
                  vocab=cfg.get("vocab_size", 32000), max_position=NO_POSITION_LIMIT,
                  activation=_activation(cfg.get("ff_activation", "gelu")),
                  layer_norm_eps=cfg.get("layer_norm_eps", 1e-12),
                  initializer_range=cfg.get("initializer_range", 0.02), clamp_len=max(cfg.get("clamp_len", -1), 0))


def _activation(name: str) -> str:
    if name not in _ACTIVATIONS:
        raise ValueError(f"activation {name!r} is not modelled; supported: {', '.join(_ACTIVATIONS)}")
    return _ACTIVATIONS[name]


# -- parameter names ------------------------------------------------------------------------

@dataclass(frozen=True)
class _Names:
    """Where an architecture keeps a block's parameters (relative to the block's prefix)."""

    block: str                    # prefix, formatted with the layer (or ALBERT group) index
    q: str
    k: str
    v: str
    o: str
    ln_attention: str
    fc1: str
    fc2: str
    ln_mlp: str
    word: str
    position: str | None          # None: no absolute positions (XLNet)
    token_type: str | None = None
    ln_embeddings: str | None = None
    conv1d: bool = False          # GPT-2: weights stored in x out, q/k/v fused in q
    relative: bool = False        # XLNet: q, k, v, o, r stored d_model x heads x d_head, no biases


_BERT = _Names("encoder.layer.{}.", "attention.self.query", "attention.self.key", "attention.self.value",
               "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense", "output.dense",
               "output.LayerNorm", "embeddings.word_embeddings", "embeddings.position_embeddings",
               "embeddings.token_type_embeddings", "embeddings.LayerNorm")
_NAMES = {
    "bert": _BERT,
    "roberta": _BERT,
    "albert": _Names("encoder.albert_layer_groups.{}.albert_layers.0.", "attention.query", "attention.key",
                     "attention.value", "attention.dense", "attention.LayerNorm", "ffn", "ffn_output",
                     "full_layer_layer_norm", "embeddings.word_embeddings", "embeddings.position_embeddings",
                     "embeddings.token_type_embeddings", "embeddings.LayerNorm"),
    "distilbert": _Names("transformer.layer.{}.", "attention.q_lin", "attention.k_lin", "attention.v_lin",
                         "attention.out_lin", "sa_layer_norm", "ffn.lin1", "ffn.lin2", "output_layer_norm",
                         "embeddings.word_embeddings", "embeddings.position_embeddings",
                         ln_embeddings="embeddings.LayerNorm"),
    "gpt2": _Names("h.{}.", "attn.c_attn", "", "", "attn.c_proj", "ln_1", "mlp.c_fc", "mlp.c_proj", "ln_2",
                   "wte", "wpe", conv1d=True),
    "xlnet": _Names("layer.{}.", "rel_attn.q", "rel_attn.k", "rel_attn.v", "rel_attn.o", "rel_attn.layer_norm",
                    "ff.layer_1", "ff.layer_2", "ff.layer_norm", "word_embedding", None, relative=True),
}
_XLNET_BIASES = ("rel_attn.r_w_bias", "rel_attn.r_r_bias")
_ALBERT_MAP = "encoder.embedding_hidden_mapping_in"


def strip_prefix(config: Config, state: dict) -> dict:
    """The state without a task model's prefix (``bert.``, ``roberta.``, ``transformer.``, ...),
    found from where the word embeddings are; KeyError names the missing parameter."""
    probe = _NAMES[config.architecture].word + ".weight"
    prefixes = [k[: -len(probe)] for k in state if k.endswith(probe)]
    if not prefixes:
        raise KeyError(f"no parameter named '{probe}' (nor '<prefix>.{probe}'): not a {config.architecture} checkpoint")
    prefix = min(prefixes, key=len)
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)} if prefix else state


def _param_shapes(config: Config) -> dict:
    """Every parameter the forward pass reads, with its shape and initialisation kind:
    "normal", "zero", "one", or ("normal", std) for GPT-2's scaled output projections."""
    names, d, m = _NAMES[config.architecture], config.hidden, config.intermediate
    e = config.embedding or d
    shapes = {names.word + ".weight": ((config.vocab, e), "normal")}
    if names.position:
        shapes[names.position + ".weight"] = ((config.max_position, e), "normal")
    if names.token_type and config.type_vocab:
        shapes[names.token_type + ".weight"] = ((config.type_vocab, e), "normal")

    def norm(name, width):
        shapes[name + ".weight"], shapes[name + ".bias"] = ((width,), "one"), ((width,), "zero")

    def linear(name, out, inp, init="normal"):  # torch layout out x in; Conv1D in x out
        shapes[name + ".weight"] = (((inp, out) if names.conv1d else (out, inp)), init)
        shapes[name + ".bias"] = ((out,), "zero")

    if names.ln_embeddings:
        norm(names.ln_embeddings, e)
    if config.architecture == "albert":
        linear(_ALBERT_MAP, d, e)
    # GPT-2 scales its residual projections by 1/sqrt(2 n_layer) at initialisation
    scaled = ("normal", config.initializer_range / np.sqrt(2 * config.layers)) if names.conv1d else "normal"
    for b in range(config.groups if config.architecture == "albert" else config.layers):
        p = names.block.format(b)
        if names.relative:  # XLNet's _init_weights: all of these normal, as its word embeddings
            for key in (names.q, names.k, names.v, names.o, "rel_attn.r"):
                shapes[p + key] = ((d, config.heads, config.d_qk), "normal")
            for key in _XLNET_BIASES:
                shapes[p + key] = ((config.heads, config.d_qk), "normal")
        elif names.conv1d:
            linear(p + names.q, 3 * d, d)
        else:
            for key in (names.q, names.k, names.v):
                linear(p + key, d, d)
        if not names.relative:
            linear(p + names.o, d, d, scaled)
        linear(p + names.fc1, m, d)
        linear(p + names.fc2, d, m, scaled)
        norm(p + names.ln_attention, d)
        norm(p + names.ln_mlp, d)
    if config.architecture == "gpt2":
        norm("ln_f", d)
    return shapes


def random_state(config: Config, seed: int) -> dict:
    """The architecture's own initialisation (Hugging Face's ``_init_weights``), seeded: weights
    and embeddings normal(0, ``initializer_range``) (GPT-2's output projections divided by
    ``sqrt(2 n_layer)``), biases 0, LayerNorm gain 1 and bias 0, the padding token's embedding
    row 0."""
    rng = np.random.default_rng(seed)
    state = {}
    for name, (shape, init) in _param_shapes(config).items():
        if init == "zero":
            state[name] = np.zeros(shape)
        elif init == "one":
            state[name] = np.ones(shape)
        else:
            std = init[1] if isinstance(init, tuple) else config.initializer_range
            state[name] = rng.normal(0.0, std, size=shape)
    if config.pad_token_id is not None:
        state[_NAMES[config.architecture].word + ".weight"][config.pad_token_id] = 0.0
    return state


# -- the model ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Block:
    """One transformer block, every matrix acting on token rows from the right (float64)."""

    W_Q: np.ndarray
    b_Q: np.ndarray
    W_K: np.ndarray
    b_K: np.ndarray
    W_V: np.ndarray
    b_V: np.ndarray
    W_O: np.ndarray
    b_O: np.ndarray
    ln_attention: tuple
    W1: np.ndarray
    b1: np.ndarray
    W2: np.ndarray
    b2: np.ndarray
    ln_mlp: tuple
    W_R: np.ndarray | None = None  # XLNet's relative positional key weights and query bias
    b_R: np.ndarray | None = None


def _get(state: dict, name: str) -> np.ndarray:
    """A parameter as read-only doubles (float32 widens exactly), which networks share uncopied; a
    double array of the state is frozen in place (the state is the checkpoint reader's or
    :func:`random_state`'s, never written after it is built)."""
    try:
        A = np.asarray(state[name], dtype=np.float64)
    except KeyError:
        raise KeyError(f"the checkpoint has no parameter {name!r}") from None
    A.flags.writeable = False
    return A


def _block(config: Config, state: dict, index: int) -> Block:
    names = _NAMES[config.architecture]
    p = names.block.format(index)

    def linear(name):
        W, b = _get(state, p + name + ".weight"), _get(state, p + name + ".bias")
        return (W if names.conv1d else W.T), b

    def norm(name):
        return _get(state, p + name + ".weight"), _get(state, p + name + ".bias")

    if names.relative:  # d_model x heads x d_head: column h d_head + k of a d_model x d matrix
        d = config.hidden
        W_Q, W_K, W_V, W_O, W_R = (_get(state, p + key).reshape(d, d) for key in
                                   (names.q, names.k, names.v, names.o, "rel_attn.r"))
        b_Q, b_R = (_get(state, p + key).reshape(d) for key in _XLNET_BIASES)
        zero = np.zeros(d)
        # the output einsum "ibnd,hnd->ibh" is attn_vec @ o.reshape(d, d).T
        return Block(W_Q, b_Q, W_K, zero, W_V, zero, W_O.T, zero, norm(names.ln_attention),
                     *linear(names.fc1), *linear(names.fc2), norm(names.ln_mlp), W_R, b_R)
    if names.conv1d:
        W, b = linear(names.q)
        d = config.hidden
        (W_Q, b_Q), (W_K, b_K), (W_V, b_V) = ((W[:, i * d:(i + 1) * d], b[i * d:(i + 1) * d]) for i in range(3))
    else:
        (W_Q, b_Q), (W_K, b_K), (W_V, b_V) = (linear(k) for k in (names.q, names.k, names.v))
    return Block(W_Q, b_Q, W_K, b_K, W_V, b_V, *linear(names.o), norm(names.ln_attention),
                 *linear(names.fc1), *linear(names.fc2), norm(names.ln_mlp))


def blocks(config: Config, state: dict) -> list[Block]:
    """The blocks of layers 1..L in order (ALBERT's shared blocks are the same object)."""
    if config.architecture == "albert":
        shared = [_block(config, state, g) for g in range(config.groups)]
        return [shared[l * config.groups // config.layers] for l in range(config.layers)]
    return [_block(config, state, l) for l in range(config.layers)]


def embed(config: Config, state: dict, input_ids) -> np.ndarray:
    """``X^0`` (n x d, float64) for one sequence of token ids (token type 0; XLNet: the word
    embeddings alone, its positions enter the attention).

    Always computed in float64: its doubles are then the exact input of the network in every
    context, as the networks of docs/theory.md start from a given X."""
    names = _NAMES[config.architecture]
    ids = np.asarray(input_ids, dtype=np.int64)
    if ids.ndim != 1 or not 1 <= len(ids) <= config.max_tokens:
        raise ValueError(f"need one sequence of 1 to {config.max_tokens} token ids")
    if ids.min() < 0 or ids.max() >= config.vocab:
        raise ValueError(f"token ids must be between 0 and {config.vocab - 1}")
    positions = np.arange(len(ids))
    if config.position_offset:  # RoBERTa numbers the non-padding tokens from pad_token_id + 1
        real = ids != config.pad_token_id
        positions = np.where(real, np.cumsum(real) + config.pad_token_id, config.pad_token_id)
    E = _get(state, names.word + ".weight")[ids]
    if names.position:
        E = E + _get(state, names.position + ".weight")[positions]
    if names.token_type and config.type_vocab:
        E = E + _get(state, names.token_type + ".weight")[0]
    if names.ln_embeddings:
        g, b = _get(state, names.ln_embeddings + ".weight"), _get(state, names.ln_embeddings + ".bias")
        E = layer_norm(get_context("float64"), E, LayerNorm("post", g, b, config.layer_norm_eps))
    if config.architecture == "albert":
        E = E @ _get(state, _ALBERT_MAP + ".weight").T + _get(state, _ALBERT_MAP + ".bias")
    return E


def final_norm(config: Config, state: dict, X) -> np.ndarray:
    """GPT-2's ``ln_f`` (not a layer here; Hugging Face's last hidden state includes it)."""
    g, b = _get(state, "ln_f.weight"), _get(state, "ln_f.bias")
    return layer_norm(get_context("float64"), np.asarray(X), LayerNorm("post", g, b, config.layer_norm_eps))


def _heads(config: Config, blk: Block) -> tuple[Head, ...]:
    k = config.d_qk
    cols = [slice(h * k, (h + 1) * k) for h in range(config.heads)]
    return tuple(Head(W_Q=blk.W_Q[:, c], W_K=blk.W_K[:, c], W_V=blk.W_V[:, c], W_O=blk.W_O[c],
                      b_Q=blk.b_Q[c], b_K=blk.b_K[c], b_V=blk.b_V[c],
                      relative=None if blk.W_R is None else Relative(blk.W_R[:, c], blk.b_R[c], config.clamp_len))
                 for c in cols)


def network(config: Config, block_list: list[Block], skip: bool = True, mlp: bool = True,
            layernorm: bool = True) -> Network:
    """The stack with the given components: ``skip`` (both sublayers' skip connections), ``mlp``
    (the MLP sublayer), ``layernorm`` (every block LayerNorm, where the architecture puts it).
    All on: the model as Hugging Face runs it (up to GPT-2's ``ln_f``)."""
    def norm(params):
        return LayerNorm(config.ln_position, *params, eps=config.layer_norm_eps) if layernorm else None

    layers, built = [], {}
    for blk in block_list:
        if id(blk) not in built:  # ALBERT: a shared block is built once
            attention = Attention(heads=_heads(config, blk), b_O=blk.b_O, skip=skip, layernorm=norm(blk.ln_attention),
                                  mask=config.mask)
            feed_forward = MLP(W1=blk.W1, b1=blk.b1, W2=blk.W2, b2=blk.b2, activation=config.activation,
                               skip=skip, layernorm=norm(blk.ln_mlp)) if mlp else None
            built[id(blk)] = Layer(attention, feed_forward)
        layers.append(built[id(blk)])
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


def variant(config: Config, state_or_blocks, name: str) -> Network:
    """One of :data:`VARIANTS` (LayerNorm kept in every remaining sublayer), from a state or
    from :func:`blocks` already read."""
    try:
        s = VARIANTS[name]
    except KeyError:
        raise ValueError(f"unknown variant {name!r}; choose one of {', '.join(VARIANTS)}") from None
    block_list = state_or_blocks if isinstance(state_or_blocks, list) else blocks(config, state_or_blocks)
    return network(config, block_list, skip=s.skip, mlp=s.mlp)
