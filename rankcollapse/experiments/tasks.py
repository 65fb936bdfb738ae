"""The three path-length tasks of the paper's Section 4.2: data and settings.

Settings follow the official code's README commands and scripts (``run_sort.py``,
``run_convex_hull.py``, ``run_memorization.py``); ``QUICK`` are reduced sizes that train in
seconds (for the tests and a first look), with a larger learning rate so that the small
budget still learns. Every array comes from a ``numpy.random.Generator``, so a seed fixes the data.

>>> rng = np.random.default_rng(0)
>>> X, y = sort_data(rng, 2, seq_len=5, vocab=10)
>>> bool((np.sort(X, axis=1) == y).all()), X.shape
(True, (2, 5))
>>> pts, lab = convex_hull_data(np.random.default_rng(1), 1, points=6)
>>> pts.shape, int(lab.sum()) >= 3
((1, 6, 2), True)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from importlib import resources

import numpy as np

__all__ = ["TASKS", "Architecture", "Settings", "PAPER", "QUICK", "settings", "make_data", "sort_data", "convex_hull_data",
           "memorization_data", "text_tokens"]

TASKS = ("sort", "convex-hull", "memorization")


@dataclass(frozen=True)
class Architecture:
    """The SAN's shape (``rankcollapse.experiments.models.SAN``)."""

    hidden: int
    heads: int
    depth: int
    labels: int
    vocab: int = 0             # token inputs when > 0, else 2-D points
    positions: int = 0         # learned position embeddings (0: none)
    pad_token: int | None = None  # a token whose embedding is never trained (BERT's padding_idx)
    ffn2: bool = False         # points: Linear -> gelu -> Linear before the LayerNorm
    mlp: bool = False
    inner_skip: bool = True    # the attention sublayer's own skip: LN(F(X) + X), else LN(F(X))


@dataclass(frozen=True)
class Settings:
    arch: Architecture
    seq_len: int
    n_train: int
    n_eval: int                # memorization: evaluated on the first n_eval training sequences
    epochs: int
    batch: int
    lr: float
    optimizer: str = "adam"    # adam (Adam, constant lr) | adamw-linear (AdamW, linear decay to 0)
    weight_decay: float = 0.0
    milestones: tuple = ()     # MultiStepLR milestones (epochs), factor LR_GAMMA
    shuffle: bool = False
    n_paths: tuple = (5, 20)   # paths summed per evaluation (the paper plots both)
    repeats: int = 5           # independent path draws per length

    def as_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)


LR_GAMMA = 0.91  # run_convex_hull.py's MultiStepLR factor

PAPER = {
    # run_sort.py: --width 2 --depth 6 --hidden_dim 48 --num_labels 10 --seq_len 8 --n_epochs 65
    # --n_train_data 1000 --n_eval_data 200; Adam lr 1e-5, batch 30, positions (BertConfig: 512);
    # the digit 0 is BertConfig's pad_token_id: its embedding keeps its initial value
    "sort": Settings(Architecture(hidden=48, heads=2, depth=6, labels=10, vocab=10, positions=512, pad_token=0),
                     seq_len=8, n_train=1000, n_eval=200, epochs=65, batch=30, lr=1e-5),
    # run_convex_hull.py: --width 3 --depth 6 --seq_len 10 --hidden_dim 84 --n_epochs 70 --ffn2
    # --n_train_data 10000 --n_eval_data 300; Adam lr 1e-5 wd 1e-3, MultiStepLR, no positions
    "convex-hull": Settings(Architecture(hidden=84, heads=3, depth=6, labels=2, ffn2=True),
                            seq_len=10, n_train=10000, n_eval=300, epochs=70, batch=30, lr=1e-5,
                            weight_decay=1e-3, milestones=(15, 30, 40, 50, 60)),
    # run_memorization.py: --width 2 --depth 6 --hidden_dim 250 --n_train_data 500, 50 epochs,
    # batch 8, lr 3e-4 (HF Trainer: AdamW, linear decay, shuffled); max_position_embeddings = -1
    # (no positions); token accuracy on the first 11 batches of 8 training sequences. RTE pairs
    # padded to 128 (about 70 real tokens each); the shipped text (4756 tokens) gives 500
    # sequences of 9 tokens
    "memorization": Settings(Architecture(hidden=250, heads=2, depth=6, labels=2, vocab=1),
                             seq_len=9, n_train=500, n_eval=88, epochs=50, batch=8, lr=3e-4,
                             optimizer="adamw-linear", shuffle=True),
}

QUICK = {
    "sort": Settings(Architecture(hidden=32, heads=2, depth=3, labels=10, vocab=10, positions=8, pad_token=0),
                     seq_len=8, n_train=600, n_eval=100, epochs=12, batch=30, lr=3e-3,
                     n_paths=(5,), repeats=2),
    "convex-hull": Settings(Architecture(hidden=24, heads=2, depth=3, labels=2, ffn2=True),
                            seq_len=10, n_train=900, n_eval=100, epochs=12, batch=30, lr=3e-3,
                            n_paths=(5,), repeats=2),
    "memorization": Settings(Architecture(hidden=48, heads=2, depth=3, labels=2, vocab=1),
                             seq_len=16, n_train=24, n_eval=24, epochs=40, batch=8, lr=3e-3,
                             optimizer="adamw-linear", shuffle=True, n_paths=(5,), repeats=2),
}


def settings(task: str, quick: bool) -> Settings:
    return (QUICK if quick else PAPER)[task]


# -- data -----------------------------------------------------------------------------------

def sort_data(rng, count: int, seq_len: int, vocab: int):
    """Sequences of digits with repeats (``gen_data_repeat``); label i = the i-th smallest."""
    X = rng.integers(vocab, size=(count, seq_len))
    return X, np.sort(X, axis=1)


def convex_hull_data(rng, count: int, points: int):
    """``points`` uniform points of ``[0, 10]^2`` shifted together by a normal(0, 3.3) offset;
    label 1 for the vertices of their convex hull (SciPy's Qhull; the official code walks the
    upper and lower hull by slopes: the same set for points in general position)."""
    from scipy.spatial import ConvexHull

    P = rng.uniform(0, 10, size=(count, points, 2)) + rng.normal(scale=3.3, size=(count, 1, 2))
    labels = np.zeros((count, points), dtype=np.int64)
    for i in range(count):
        labels[i, ConvexHull(P[i]).vertices] = 1
    return P, labels


def text_tokens() -> list[str]:
    """The shipped English text (``rankcollapse/data/english.txt``) as lower-case words and
    punctuation marks, in order ('#' lines are comments)."""
    text = (resources.files("rankcollapse") / "data" / "english.txt").read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    return re.findall(r"\w+|[^\w\s]", body.lower())


def memorization_data(rng, count: int, seq_len: int):
    """``count`` disjoint windows of ``seq_len`` consecutive tokens of the shipped text (ids in a
    vocabulary built from it) with uniformly random binary labels per token. Returns
    ``(ids, labels, vocab)``; raises ValueError when the text holds fewer windows."""
    words = text_tokens()
    available = len(words) // seq_len
    if count > available:
        raise ValueError(f"the shipped text has {len(words)} tokens: at most {available} sequences of "
                         f"{seq_len}, asked for {count}")
    vocab = {w: i for i, w in enumerate(sorted(set(words)))}
    ids = np.array([vocab[w] for w in words[: count * seq_len]]).reshape(count, seq_len)
    return ids, rng.integers(2, size=(count, seq_len)), len(vocab)


def make_data(task: str, s: Settings, seed: int):
    """``(settings, train_X, train_y, eval_X, eval_y)``; the settings gain the vocabulary size
    where the data decides it. Memorisation is evaluated on its training sequences."""
    rng = np.random.default_rng(seed)
    if task == "sort":
        tx, ty = sort_data(rng, s.n_train, s.seq_len, s.arch.vocab)
        ex, ey = sort_data(rng, s.n_eval, s.seq_len, s.arch.vocab)
    elif task == "convex-hull":
        tx, ty = convex_hull_data(rng, s.n_train, s.seq_len)
        ex, ey = convex_hull_data(rng, s.n_eval, s.seq_len)
    elif task == "memorization":
        tx, ty, vocab = memorization_data(rng, s.n_train, s.seq_len)
        s = replace(s, arch=replace(s.arch, vocab=vocab))
        ex, ey = tx[: s.n_eval], ty[: s.n_eval]
    else:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    return s, tx, ty, ex, ey
