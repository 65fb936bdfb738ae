"""The self-attention network of the official code (``modeling_san.py``), in torch, and its
conversion to a :class:`rankcollapse.numerics.network.Network`.

Per layer: ``LN(sum_h (P_h X W_V,h + 1 b_V,h^T) W_O,h + 1 b_O^T + X)`` (post-LN around a skip
connection, as BERT), then optionally the MLP block ``LN(W_2 gelu(W_1 Y + b_1) + b_2 + Y)``;
dropout 0.1 on the attention probabilities and the sublayer outputs while training. The
input is embedded as in the official code: token (+ position) embeddings, a linear map and a
LayerNorm; or, for points, ``Linear(2, d)`` (``gelu`` and a second linear map with ``ffn2``)
and a LayerNorm. A linear classifier reads every token (through dropout while training).
Initialisation as there: weights normal(0, 0.02), biases 0, except ``W_V`` and ``W_O``, which
keep torch's default (Kaiming uniform) weights, with zero biases; ``Architecture.pad_token``'s
embedding is never trained (BERT's ``padding_idx``).
"""

from __future__ import annotations

import math
import numpy as np
import torch
from torch import nn

from rankcollapse.numerics.network import MLP, Attention, Head, Layer, LayerNorm, Network

from .tasks import Architecture

__all__ = ["SAN", "seed_everything", "to_network", "classifier", "LN_EPS"]

LN_EPS = 1e-12   # BertConfig.layer_norm_eps
DROPOUT = 0.1    # BertConfig's hidden and attention dropout


def seed_everything(seed: int) -> None:
    """Deterministic training on CPU: one seed, deterministic kernels, one thread (so a result
    does not depend on how many runs share the machine, or on ``--jobs``)."""
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)


def _normal(module: nn.Module) -> nn.Module:
    nn.init.normal_(module.weight, std=0.02)
    if getattr(module, "bias", None) is not None:
        nn.init.zeros_(module.bias)
    return module


class _Attention(nn.Module):
    def __init__(self, d: int, heads: int, skip: bool):
        super().__init__()
        self.heads, self.skip = heads, skip
        self.query, self.key = _normal(nn.Linear(d, d)), _normal(nn.Linear(d, d))
        self.value, self.dense = nn.Linear(d, d), nn.Linear(d, d)
        nn.init.zeros_(self.value.bias)
        nn.init.zeros_(self.dense.bias)
        self.norm = nn.LayerNorm(d, eps=LN_EPS)
        self.drop = nn.Dropout(DROPOUT)

    def forward(self, X):
        B, n, d = X.shape
        k = d // self.heads

        def split(Y):
            return Y.view(B, n, self.heads, k).transpose(1, 2)

        scores = split(self.query(X)) @ split(self.key(X)).transpose(-1, -2) / math.sqrt(k)
        mixed = self.drop(torch.softmax(scores, dim=-1)) @ split(self.value(X))
        out = self.drop(self.dense(mixed.transpose(1, 2).reshape(B, n, d)))
        return self.norm(out + X if self.skip else out)


class _MLP(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.W1, self.W2 = _normal(nn.Linear(d, d)), _normal(nn.Linear(d, d))  # intermediate size = d
        self.norm = nn.LayerNorm(d, eps=LN_EPS)
        self.drop = nn.Dropout(DROPOUT)

    def forward(self, Y):
        return self.norm(self.drop(self.W2(nn.functional.gelu(self.W1(Y)))) + Y)


class SAN(nn.Module):
    def __init__(self, arch: Architecture):
        super().__init__()
        self.arch = arch
        d = arch.hidden
        if arch.vocab:
            # padding_idx: no gradient reaches that row; _normal then draws it like the others, as
            # the official init_weights does
            self.tokens = _normal(nn.Embedding(arch.vocab, d, padding_idx=arch.pad_token))
            self.positions = _normal(nn.Embedding(arch.positions, d)) if arch.positions else None
            self.embed_in = _normal(nn.Linear(d, d))
        else:
            self.embed_in = _normal(nn.Linear(2, d))
            self.embed_ffn2 = _normal(nn.Linear(d, d)) if arch.ffn2 else None
        self.embed_norm = nn.LayerNorm(d, eps=LN_EPS)
        self.drop = nn.Dropout(DROPOUT)
        self.attention = nn.ModuleList(_Attention(d, arch.heads, arch.inner_skip) for _ in range(arch.depth))
        self.mlp = nn.ModuleList(_MLP(d) for _ in range(arch.depth)) if arch.mlp else None
        self.classifier = _normal(nn.Linear(d, arch.labels))

    def embed(self, inputs):
        """``X^0`` for a batch: (B, n) token ids or (B, n, 2) points."""
        if self.arch.vocab:
            E = self.tokens(inputs)
            if self.positions is not None:
                E = E + self.positions.weight[: inputs.shape[1]]
            E = self.embed_in(E)
        else:
            E = self.embed_in(inputs)
            if self.embed_ffn2 is not None:
                E = self.embed_ffn2(nn.functional.gelu(E))
        return self.drop(self.embed_norm(E))

    def forward(self, inputs):
        X = self.embed(inputs)
        for l, layer in enumerate(self.attention):
            X = layer(X)
            if self.mlp is not None:
                X = self.mlp[l](X)
        return self.classifier(self.drop(X))  # the official classifier reads dropout(X) (test_token)


def _np(t) -> np.ndarray:
    return t.detach().double().numpy()


def _layernorm(norm: nn.LayerNorm) -> LayerNorm:
    return LayerNorm(position="post", gain=_np(norm.weight), bias=_np(norm.bias), eps=LN_EPS)


def to_network(model: SAN) -> Network:
    """The trained encoder (everything between ``X^0`` and the classifier) as a Network in
    float64. torch's ``Linear`` computes ``x W^T + b``; our matrices act on rows from the right,
    so head h takes the rows ``h k:(h+1) k`` of each weight, transposed, and ``W_O,h`` the rows
    ``h k:(h+1) k`` of ``dense.weight^T`` (concatenate-and-project = ``sum_h SA_h W_O,h``)."""
    arch = model.arch
    k = arch.hidden // arch.heads
    layers = []
    for l, att in enumerate(model.attention):
        heads = tuple(Head(W_Q=_np(att.query.weight[h * k:(h + 1) * k]).T, b_Q=_np(att.query.bias[h * k:(h + 1) * k]),
                           W_K=_np(att.key.weight[h * k:(h + 1) * k]).T, b_K=_np(att.key.bias[h * k:(h + 1) * k]),
                           W_V=_np(att.value.weight[h * k:(h + 1) * k]).T, b_V=_np(att.value.bias[h * k:(h + 1) * k]),
                           W_O=_np(att.dense.weight).T[h * k:(h + 1) * k])
                      for h in range(arch.heads))
        mlp = None
        if model.mlp is not None:
            m = model.mlp[l]
            mlp = MLP(W1=_np(m.W1.weight).T, b1=_np(m.W1.bias), W2=_np(m.W2.weight).T, b2=_np(m.W2.bias),
                      activation="gelu", skip=True, layernorm=_layernorm(m.norm))
        layers.append(Layer(Attention(heads, b_O=_np(att.dense.bias), skip=arch.inner_skip, layernorm=_layernorm(att.norm)), mlp))
    return Network(d_qk=k, layers=tuple(layers))


def classifier(model: SAN) -> tuple[np.ndarray, np.ndarray]:
    """``(W, b)`` of the token classifier in float64: logits = ``X W^T + b``."""
    return _np(model.classifier.weight), _np(model.classifier.bias)
