"""Network instance files (docs/theory.md §6): one JSON file holds an input and a network, exactly.

Numbers are decimal strings (read exactly) or JSON numbers (their decimal text is read
exactly too, never through a double). ``null`` or a missing optional key means absent.
Every feature dimension is the input's ``d``: each sublayer maps n x d to n x d.
Errors name the file and the field:

>>> parse_instance({"format": "rankcollapse-instance/1", "input": [["1", "2"], ["3"]],
...                 "d_qk": 1, "layers": []}, source="x.json")
Traceback (most recent call last):
...
rankcollapse.numerics.instance.InstanceError: x.json: input[1]: expected 2 entries (the width of input[0]), got 1
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .exact import exact_decimal, exact_string, to_fraction
from .network import MLP, ACTIVATIONS, CAUSAL, Attention, Head, Layer, LayerNorm, MaskError, Network
from .variants import SOFTMAX, VARIANTS

__all__ = ["Instance", "InstanceError", "FORMAT", "load_instance", "parse_instance", "read_json", "read_text",
           "save_instance", "instance_to_json", "write_json_atomic"]

FORMAT = "rankcollapse-instance/1"


class InstanceError(ValueError):
    """An instance file is malformed; the message names the file and the field."""


@dataclass(frozen=True)
class Instance:
    """An input and a network: what an instance file holds, what the strategies draw (as
    ``strategies.Case``, the same class) and what ``check_network`` and the claim checks take."""

    X: np.ndarray  # object array of Fractions (or doubles), n x d
    net: Network


class _Reader:
    """Walks the JSON tree keeping the path of the current field for error messages."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, path: str, msg: str):
        raise InstanceError(f"{self.source}: {path}: {msg}")

    def keys(self, obj, path, required: set, optional: set):
        if not isinstance(obj, dict):
            self.fail(path, f"expected an object, got {type(obj).__name__}")
        unknown = sorted(set(obj) - required - optional)
        if unknown:
            self.fail(path, f"unknown key(s) {', '.join(map(repr, unknown))}; allowed: "
                      f"{', '.join(sorted(required | optional))}")
        missing = sorted(required - set(obj))
        if missing:
            self.fail(path, f"missing key(s) {', '.join(map(repr, missing))}")

    def number(self, v, path) -> Fraction:
        if isinstance(v, bool) or not isinstance(v, (str, int, float, Fraction)):
            self.fail(path, f"expected a decimal string or a number, got {json.dumps(v)}")
        try:
            # a float decoded elsewhere: its shortest repr is the decimal that was written
            return to_fraction(repr(v) if isinstance(v, float) else v)
        except ValueError as e:  # not ASCII decimal syntax, an exponent too large to read exactly, ...
            self.fail(path, str(e))

    def matrix(self, v, path, rows: int | None = None, cols: int | None = None, what=""):
        if not isinstance(v, list) or not v or not all(isinstance(r, list) for r in v):
            self.fail(path, "expected a non-empty list of rows (lists of numbers)")
        width = len(v[0])
        if width == 0:
            self.fail(f"{path}[0]", "a row must not be empty")
        for i, row in enumerate(v):
            if len(row) != width:
                self.fail(f"{path}[{i}]", f"expected {width} entries (the width of {path}[0]), got {len(row)}")
        if rows is not None and len(v) != rows:
            self.fail(path, f"expected {rows} rows{what}, got {len(v)}")
        if cols is not None and width != cols:
            self.fail(path, f"expected {cols} columns{what}, got {width}")
        return np.array([[self.number(e, f"{path}[{i}][{j}]") for j, e in enumerate(row)]
                         for i, row in enumerate(v)], dtype=object)

    def vector(self, v, path, length: int, what=""):
        if v is None:
            return None
        if not isinstance(v, list):
            self.fail(path, "expected a list of numbers or null")
        if len(v) != length:
            self.fail(path, f"expected {length} entries{what}, got {len(v)}")
        return np.array([self.number(e, f"{path}[{i}]") for i, e in enumerate(v)], dtype=object)

    def flag(self, v, path) -> bool:
        if v is None:
            return False
        if not isinstance(v, bool):
            self.fail(path, f"expected true or false, got {json.dumps(v)}")
        return v

    def layernorm(self, v, path, d):
        if v is None:
            return None
        self.keys(v, path, {"position"}, {"gain", "bias", "eps"})
        if v["position"] not in ("pre", "post"):
            self.fail(f"{path}.position", f"expected \"pre\" or \"post\", got {json.dumps(v['position'])}")
        eps = self.number(0 if v.get("eps") is None else v["eps"], f"{path}.eps")
        if eps < 0:
            self.fail(f"{path}.eps", f"must be >= 0, got {v.get('eps')!r}")
        if eps == 0 and d == 1:
            self.fail(f"{path}.eps", "eps = 0 with d = 1: every row is constant and LayerNorm is 0/0; give eps > 0")
        return LayerNorm(v["position"], self.vector(v.get("gain"), f"{path}.gain", d, f" (d = {d})"),
                         self.vector(v.get("bias"), f"{path}.bias", d, f" (d = {d})"), eps)

    def head(self, v, path, d, d_qk):
        self.keys(v, path, {"W_Q", "W_K", "W_V"}, {"W_O", "b_Q", "b_K", "b_V"})
        W_Q = self.matrix(v["W_Q"], f"{path}.W_Q", d, d_qk, f" (d = {d}, d_qk = {d_qk})")
        W_K = self.matrix(v["W_K"], f"{path}.W_K", d, d_qk, f" (d = {d}, d_qk = {d_qk})")
        W_O = v.get("W_O")
        W_V = self.matrix(v["W_V"], f"{path}.W_V", d, None if W_O is not None else d,
                          f" (d = {d})" + ("" if W_O is not None else "; W_O is absent, so W_V must be d x d"))
        d_v = W_V.shape[1]
        return Head(W_Q, W_K, W_V,
                    None if W_O is None else self.matrix(W_O, f"{path}.W_O", d_v, d, f" (d_v = {d_v}, d = {d})"),
                    self.vector(v.get("b_Q"), f"{path}.b_Q", d_qk, f" (d_qk = {d_qk})"),
                    self.vector(v.get("b_K"), f"{path}.b_K", d_qk, f" (d_qk = {d_qk})"),
                    self.vector(v.get("b_V"), f"{path}.b_V", d_v, f" (d_v = {d_v})"))

    def mask(self, v, path, n):
        """null, "causal" or an n x n matrix of 0/1 with a 1 in every row."""
        if v is None or v == CAUSAL:
            return v
        if isinstance(v, str):
            self.fail(path, f'expected null, "causal" or an n x n matrix of 0/1, got {json.dumps(v)}')
        M = self.matrix(v, path, n, n, f" (n = {n} tokens)")
        try:
            return Attention.check_mask(M)
        except MaskError as e:
            self.fail(path, str(e))

    def variant(self, v, path, n):
        """``{"name": ..., parameters}``: a registered attention variant (null: softmax). A
        parameter is a number, null, or an n x n matrix (e.g. an additive logit bias)."""
        if v is None:
            return SOFTMAX
        if not isinstance(v, dict) or v.get("name") not in VARIANTS:
            name = v.get("name") if isinstance(v, dict) else v
            self.fail(f"{path}.name" if isinstance(v, dict) else path,
                      f"unknown attention variant {json.dumps(name)}; known: {', '.join(sorted(VARIANTS))}")
        cls = VARIANTS[v["name"]]
        names = set(cls().params())
        self.keys(v, path, {"name"}, names)
        params = {k: None if x is None else self.matrix(x, f"{path}.{k}", n, n, f" (n = {n} tokens)")
                  if isinstance(x, list) else self.number(x, f"{path}.{k}") for k, x in v.items() if k != "name"}
        try:
            return cls(**params)
        except (ValueError, TypeError) as e:
            self.fail(path, str(e))

    def layer(self, v, path, n, d, d_qk):
        self.keys(v, path, {"attention"}, {"mlp"})
        a, ap = v["attention"], f"{path}.attention"
        self.keys(a, ap, {"heads"}, {"b_O", "skip", "layernorm", "mask", "variant"})
        if not isinstance(a["heads"], list) or not a["heads"]:
            self.fail(f"{ap}.heads", "expected a non-empty list of heads")
        attention = Attention(tuple(self.head(h, f"{ap}.heads[{i}]", d, d_qk) for i, h in enumerate(a["heads"])),
                              self.vector(a.get("b_O"), f"{ap}.b_O", d, f" (d = {d})"),
                              self.flag(a.get("skip"), f"{ap}.skip"),
                              self.layernorm(a.get("layernorm"), f"{ap}.layernorm", d),
                              self.mask(a.get("mask"), f"{ap}.mask", n),
                              self.variant(a.get("variant"), f"{ap}.variant", n))
        m, mp = v.get("mlp"), f"{path}.mlp"
        if m is None:
            return Layer(attention)
        self.keys(m, mp, {"W1", "W2", "activation"}, {"b1", "b2", "skip", "layernorm"})
        W1 = self.matrix(m["W1"], f"{mp}.W1", d, None, f" (d = {d})")
        width = W1.shape[1]
        if m["activation"] not in ACTIVATIONS:
            self.fail(f"{mp}.activation", f"expected one of {', '.join(ACTIVATIONS)}, got {json.dumps(m['activation'])}")
        return Layer(attention, MLP(W1, self.matrix(m["W2"], f"{mp}.W2", width, d, f" (hidden = {width}, d = {d})"),
                                    self.vector(m.get("b1"), f"{mp}.b1", width, f" (hidden = {width})"),
                                    self.vector(m.get("b2"), f"{mp}.b2", d, f" (d = {d})"),
                                    m["activation"], self.flag(m.get("skip"), f"{mp}.skip"),
                                    self.layernorm(m.get("layernorm"), f"{mp}.layernorm", d)))


def parse_instance(obj, source: str = "<instance>") -> Instance:
    """Validate a decoded JSON object and build the instance."""
    rd = _Reader(source)
    rd.keys(obj, "(top level)", {"format", "input", "d_qk", "layers"}, set())
    if obj["format"] != FORMAT:
        rd.fail("format", f"expected {FORMAT!r}, got {json.dumps(obj['format'])}")
    X = rd.matrix(obj["input"], "input")
    d_qk = obj["d_qk"]
    if isinstance(d_qk, bool) or not isinstance(d_qk, int) or d_qk < 1:
        rd.fail("d_qk", f"expected a positive integer, got {json.dumps(d_qk, default=str)}")
    if not isinstance(obj["layers"], list):
        rd.fail("layers", "expected a list of layers")
    n, d = X.shape
    layers = tuple(rd.layer(v, f"layers[{i}]", n, d, d_qk) for i, v in enumerate(obj["layers"]))
    ln = layers[0].attention.layernorm if layers else None
    if ln is not None and ln.position == "pre" and ln.eps == 0:
        constant = [i for i, row in enumerate(X) if all(e == row[0] for e in row)]
        if constant:
            rd.fail("layers[0].attention.layernorm.eps", f"eps = 0 and input[{constant[0]}] is a constant "
                    "row: LayerNorm is 0/0 there; give eps > 0")
    return Instance(X, Network(d_qk, layers))


def _reject_constant(name):
    raise ValueError(f"{name} is not a finite number")


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:  # json.loads would keep the last one silently
            raise _DuplicateKey(f"duplicate key {key!r}")
        obj[key] = value
    return obj


def read_text(path) -> str:
    """The UTF-8 text of a file; InstanceError naming the file when it cannot be read."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InstanceError(f"{path}: cannot read: {e.strerror or e}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InstanceError(f"{path}: not UTF-8 text (byte {e.start}: {data[e.start:e.start + 1]!r})") from None


def read_json(path):
    """A decoded JSON file whose numbers keep their exact decimal value: non-integers stay their
    decimal text (read exactly, with the exponent checked, where a field is read). Duplicate
    keys are errors."""
    text = read_text(path)
    try:
        return json.loads(text, parse_float=str, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except _DuplicateKey as e:
        raise InstanceError(f"{path}: {e}") from None
    except ValueError as e:
        raise InstanceError(f"{path}: not valid JSON: {e}") from None
    except RecursionError:
        raise InstanceError(f"{path}: not valid JSON: nested too deeply") from None


def load_instance(path) -> Instance:
    """Read and validate an instance file; JSON numbers keep their exact decimal value."""
    return parse_instance(read_json(path), str(path))


def _mat(A):
    return None if A is None else [[exact_decimal(v) for v in row] for row in np.asarray(A)]


def _vec(v):
    return None if v is None else [exact_decimal(e) for e in np.asarray(v)]


def _mask(mask):
    return mask if mask is None or isinstance(mask, str) else np.asarray(mask, dtype=int).tolist()


def _variant(variant):
    if variant == SOFTMAX:
        return None  # the default: files without the key stay as they were
    params = {k: None if v is None else _exact_strings(v) for k, v in variant.params().items()}
    return {"name": variant.name, **params}


def _exact_strings(v):
    a = np.asarray(v, dtype=object)
    return exact_string(a.item()) if a.ndim == 0 else [_exact_strings(e) for e in a]


def _ln(ln):
    return None if ln is None else {"position": ln.position, "gain": _vec(ln.gain),
                                    "bias": _vec(ln.bias), "eps": exact_decimal(ln.eps)}


def instance_to_json(X, net: Network) -> dict:
    """The instance as a JSON-ready dict with exact decimal strings."""
    layers = []
    for layer in net.layers:
        a = layer.attention
        if any(h.relative is not None for h in a.heads):  # never dropped silently
            raise ValueError("heads with relative positional logits (XLNet) are not part of the instance format")
        heads = [{"W_Q": _mat(h.W_Q), "W_K": _mat(h.W_K), "W_V": _mat(h.W_V), "W_O": _mat(h.W_O),
                  "b_Q": _vec(h.b_Q), "b_K": _vec(h.b_K), "b_V": _vec(h.b_V)} for h in a.heads]
        m = layer.mlp
        attention = {"heads": heads, "b_O": _vec(a.b_O), "skip": a.skip, "layernorm": _ln(a.layernorm)}
        if a.mask is not None:
            attention["mask"] = _mask(a.mask)
        if _variant(a.variant) is not None:
            attention["variant"] = _variant(a.variant)
        layers.append({"attention": attention,
                       "mlp": None if m is None else {
                           "W1": _mat(m.W1), "b1": _vec(m.b1), "W2": _mat(m.W2), "b2": _vec(m.b2),
                           "activation": m.activation, "skip": m.skip, "layernorm": _ln(m.layernorm)}})
    return {"format": FORMAT, "input": _mat(X), "d_qk": net.d_qk, "layers": layers}


def _umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return mask


def write_json_atomic(path, obj) -> None:
    """Write JSON to ``path`` only once it is complete (a failure leaves the old file intact),
    with the mode ``open`` would give it (mkstemp's temporary file is private: 0600)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=1)
            f.write("\n")
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def save_instance(path, X, net: Network) -> Path:
    """Save an instance file (exact decimals) and return its path."""
    write_json_atomic(path, instance_to_json(X, net))
    return Path(path)
