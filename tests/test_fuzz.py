"""Fuzzing the command line (issue 9): random and mutated instance files, matrix files of every
numpy dtype, CSV and JSON edge cases (Unicode digits, huge and tiny exponents, duplicate keys,
deep nesting, bytes that are not UTF-8) and random options.

The property, for every input: the command ends within :data:`SECONDS` with exit 0, 1 or 3
and a valid JSON report, or with exit 2 and a message naming the problem (the file or the
option); never a traceback (in-process, an exception escaping ``main`` fails the test); and an
existing ``--json`` file is never overwritten on an error. Commands run in-process
(``rankcollapse.cli.main``); one subprocess run checks the same at the process level.
``FUZZ_EXAMPLES=500 python -m pytest tests/test_fuzz.py`` fuzzes longer (CI: 12 per test).
"""

import copy
import io
import json
import os
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from rankcollapse.cli import main

ROOT = Path(__file__).resolve().parents[1]
FLOAT_TRAP = json.loads((ROOT / "docs" / "instances" / "float_trap.json").read_text())
SECONDS = 30  # per command, on a loaded machine; the slowest cases here take a few
SENTINEL = "precious: must survive every error\n"
FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 12)), deadline=None,
                suppress_health_check=list(HealthCheck))

# ASCII digits pass, others are refused: Arabic-Indic, Devanagari, fullwidth, superscript
DIGITS = st.sampled_from(["0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669",
                          "\u0966\u0967\u0968\u0969", "\uff10\uff11\uff19", "\u00b9\u00b2"])


def check_cli(args, out: Path, names):
    """Run ``rankcollapse ARGS --json OUT`` in-process and assert the property; the exit code."""
    out.write_text(SENTINEL)
    stdout, stderr = io.StringIO(), io.StringIO()
    t0 = time.perf_counter()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        code = main([*map(str, args), "--json", str(out)])
    assert time.perf_counter() - t0 < SECONDS, args
    text = stdout.getvalue() + stderr.getvalue()
    assert "Traceback" not in text
    if code == 2:
        message = stderr.getvalue()
        assert "error" in message and any(str(n) in message for n in names), (args, message)
        assert out.read_text() == SENTINEL, "an error overwrote the output file"
    else:
        assert code in (0, 1, 3), (code, text)
        assert isinstance(json.loads(out.read_text()), dict)
    return code


# -- numbers as text -----------------------------------------------------------------------------

@st.composite
def number_text(draw):
    """Decimal-looking text: plain, huge or tiny exponents (some beyond the cap), ratios, and
    near misses (Unicode digits, underscores, nan, empty, hex)."""
    kind = draw(st.integers(0, 9))
    digits = draw(DIGITS) if kind == 0 else "0123456789"
    mantissa = "".join(draw(st.lists(st.sampled_from(digits), min_size=1, max_size=8)))
    if kind <= 4:
        exponent = draw(st.one_of(st.integers(-20, 20), st.integers(-5000, 5000),
                                  st.sampled_from([-1000001, 1000001, 10**9, -(10**12)])))
        return f"{draw(st.sampled_from(['', '-', '+']))}{mantissa}.{mantissa[::-1]}e{exponent}"
    if kind == 5:
        return f"{mantissa}/{draw(st.sampled_from(['0', '3', '7', mantissa]))}"
    if kind == 6:
        return draw(st.sampled_from(["nan", "inf", "-Infinity", "", " ", "1_000", "0x1p3", "1e", ".", "1..2", "--1",
                                     "\ufeff1", "1e\u0669\u0669\u0669\u0669\u0669\u0669\u0669\u0669\u0669"]))
    return draw(st.sampled_from(["0", "1", "-0.5", "2.5e-3", "1e-400", "1.7e308", "1e400", "-3"]))


# -- matrix files --------------------------------------------------------------------------------

DTYPES = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
          np.float16, np.float32, np.float64, np.longdouble, np.complex64, np.complex128, np.clongdouble,
          np.dtype("U3"), np.dtype("S3"), np.dtype("datetime64[s]"), np.dtype("timedelta64[s]"),
          np.dtype([("a", np.float64), ("b", np.int32)])]


@st.composite
def npy_arrays(draw):
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    shape = draw(st.one_of(st.tuples(st.integers(0, 4), st.integers(0, 4)), hnp.array_shapes(min_dims=1, max_dims=3,
                                                                                             max_side=3)))
    if dtype.kind == "f":  # every width, with nan, inf, the largest and the smallest values
        finfo, width = np.finfo(dtype), min(dtype.itemsize * 8, 64)
        extremes = [float(v) for v in (finfo.max, finfo.tiny, finfo.smallest_subnormal) if np.isfinite(float(v))
                    and float(v) != 0] or [1e300, 5e-324]  # long double: beyond what a float holds
        elements = st.one_of(st.floats(width=width), st.sampled_from(extremes))
        return draw(hnp.arrays(dtype, shape, elements=elements))
    return draw(hnp.arrays(dtype, shape))


def write_npy(folder: Path, A) -> Path:
    path = folder / "m.npy"
    np.save(path, A, allow_pickle=False)
    return path


@st.composite
def csv_bytes(draw):
    rows = draw(st.lists(st.lists(number_text(), min_size=1, max_size=4), min_size=0, max_size=4))
    text = "\n".join(",".join(r) for r in rows)
    raw = text.encode()
    if draw(st.integers(0, 9)) == 0:  # bytes that are not UTF-8
        raw = raw + b"\xff\xfe" + raw
    return raw


def json_values(leaves=None):
    leaves = leaves or st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30), number_text(),
                                 st.floats(allow_nan=False, allow_infinity=False))
    return st.recursive(leaves, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.text(max_size=3), inner, max_size=3)),
                        max_leaves=12)


@st.composite
def json_matrix_text(draw):
    kind = draw(st.integers(0, 5))
    if kind == 0:  # deeply nested
        depth = draw(st.sampled_from([50, 5000, 200000]))
        return '{"matrix": ' + "[" * depth + "1" + "]" * depth + "}"
    if kind == 1:  # a duplicate key
        return '{"matrix": [[1, 2], [3, 4]], "matrix": [[0, 0], [0, 1]]}'
    if kind == 2:  # JSON numbers, with exponents of any size
        rows = draw(st.lists(st.lists(st.sampled_from(["0", "1", "-2.5", "1e-400", "1E+999999999", "1e308", "3e400"]),
                                      min_size=2, max_size=2), min_size=1, max_size=3))
        return '{"matrix": [' + ", ".join("[" + ", ".join(r) + "]" for r in rows) + "]}"
    rows = draw(st.lists(st.lists(number_text(), min_size=1, max_size=3), min_size=1, max_size=3))
    obj = {"matrix": rows} if kind < 5 else draw(json_values())
    return json.dumps(obj, ensure_ascii=draw(st.booleans()))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(A=npy_arrays(), bits=st.sampled_from(["64", "256"]))
def test_residual_of_any_npy(folder, A, bits):
    path = write_npy(folder, A)
    code = check_cli(["residual", path, "--bits", bits], folder / "r.json", [path])
    finite = A.dtype.kind in "iuf" and A.dtype.fields is None and A.ndim == 2 and A.size > 0 and \
        bool(np.isfinite(A).all())
    assert (code == 0) == finite, (A.dtype, A.shape, code)


@FUZZ
@given(raw=csv_bytes())
def test_residual_of_any_csv(folder, raw):
    path = folder / "m.csv"
    path.write_bytes(raw)
    check_cli(["residual", path], folder / "r.json", [path])


@FUZZ
@given(text=json_matrix_text())
def test_residual_of_any_json_matrix(folder, text):
    path = folder / "m.json"
    path.write_text(text)
    check_cli(["residual", path], folder / "r.json", [path])


# -- instance files ----------------------------------------------------------------------------

def _base_instances():
    """Small valid instances: the float trap, and a two-layer one with every feature."""
    eye = [["1", "0"], ["0", "0.5"]]
    rich = {"format": "rankcollapse-instance/1", "input": [["0", "1"], ["0.5", "0.25"], ["1", "0"]], "d_qk": 2,
            "layers": [{"attention": {"heads": [{"W_Q": eye, "W_K": eye, "W_V": eye, "b_Q": ["0.1", "0"]}],
                                      "skip": True, "layernorm": {"position": "pre", "eps": "1e-5",
                                                                  "gain": ["1", "2"], "bias": ["0", "1"]}},
                        "mlp": {"W1": eye, "W2": eye, "activation": "gelu", "b1": ["0", "0.5"]}},
                       {"attention": {"heads": [{"W_Q": eye, "W_K": eye, "W_V": eye, "W_O": eye}]}}]}
    plain = copy.deepcopy(rich)
    del plain["layers"][0]["attention"]["layernorm"], plain["layers"][0]["mlp"]
    return [FLOAT_TRAP, rich, plain]


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


@st.composite
def mutated_instances(draw):
    obj = copy.deepcopy(draw(st.sampled_from(_base_instances())))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(obj))[1:]))
        parent = obj
        for key in path[:-1]:
            parent = parent[key]
        op = draw(st.integers(0, 4))
        if op == 0 and isinstance(parent, dict):
            del parent[path[-1]]
        elif op == 1:
            parent[path[-1]] = draw(number_text())
        elif op == 2:
            parent[path[-1]] = draw(st.sampled_from(["", False, [], {}, None, 0, "0", "1e300", "-1e-300", 10**40]))
        elif op == 3 and isinstance(parent, dict):
            parent[draw(st.text(max_size=4))] = draw(json_values())
        else:
            parent[path[-1]] = draw(json_values())
    text = json.dumps(obj, ensure_ascii=draw(st.booleans()))
    cut = draw(st.integers(0, 19))
    if cut == 0:  # truncated file
        text = text[:draw(st.integers(0, len(text)))]
    elif cut == 1:  # a key written twice
        text = text[:-1] + ', "d_qk": 1}'
    return text


@FUZZ
@given(text=mutated_instances(), backend=st.sampled_from(["arb", "arb", "mpmath", "float64"]))
def test_check_of_any_mutated_instance(folder, text, backend):
    path = folder / "inst.json"
    path.write_text(text)
    check_cli(["check", path, "--backend", backend], folder / "c.json", [path])


@settings(FUZZ, max_examples=max(FUZZ.max_examples // 2, 1))
@given(inputs=st.lists(st.lists(st.sampled_from(["0", "1", "-1", "1e-300", "1e200", "-1.7e308", "1e-400", "0.5"]),
                                min_size=2, max_size=2), min_size=2, max_size=3),
       weight=st.sampled_from(["1", "3", "1e-3", "40"]), depth=st.integers(1, 3))
def test_check_of_extreme_scales(folder, inputs, weight, depth):
    """Entries from 1e-400 to 1e308 and weights that overflow doubles (issue 9's tracebacks)."""
    W = [[weight, "0"], ["0", weight]]
    obj = {"format": "rankcollapse-instance/1", "input": inputs, "d_qk": 2,
           "layers": [{"attention": {"heads": [{"W_Q": W, "W_K": W, "W_V": W}]}}] * depth}
    path = folder / "x.json"
    path.write_text(json.dumps(obj))
    assert check_cli(["check", path], folder / "c.json", [path]) in (0, 3)  # theorems hold or stay open


# -- options ---------------------------------------------------------------------------------------

OPTION_VALUE = st.one_of(number_text(), st.sampled_from(["0", "-1", "700", "10001", "1e-999999999"]),
                         st.text(max_size=6))


@FUZZ
@given(values=st.fixed_dictionaries({k: OPTION_VALUE for k in ("--depth", "--beta", "--dqk", "--r0", "--heads",
                                                                 "--gamma", "--lam", "--eps")}),
       keep=st.lists(st.booleans(), min_size=8, max_size=8))
def test_bound_with_any_options(folder, values, keep):
    args = ["bound"]
    for (option, value), k in zip(values.items(), keep):
        if k or option in ("--depth", "--beta", "--dqk", "--r0"):
            args += [option, value] if not value.startswith("-") else [f"{option}={value}"]
    check_cli(args, folder / "b.json", ["--", "argument", "usage"])


@FUZZ
@given(bits=st.one_of(st.integers(-5, 10**10).map(str), st.text(max_size=5), DIGITS.map(lambda d: d[:3])))
def test_residual_bits_option(folder, bits):
    path = folder / "ok.csv"
    path.write_text("0,1\n1,0\n0.5,0.5\n")
    check_cli(["residual", path, f"--bits={bits}"], folder / "r.json", ["--bits", "argument"])


def test_output_path_problems_are_refused_before_work(folder):
    (folder / "a_file").write_text("x")
    for out in (folder / "no_such_dir" / "r.json", folder / "a_file" / "r.json"):
        stderr = io.StringIO()
        with redirect_stdout(io.StringIO()), redirect_stderr(stderr):
            assert main(["check", str(ROOT / "docs" / "instances" / "float_trap.json"), "--json", str(out)]) == 2
        assert "--json" in stderr.getvalue() and not out.exists()


# -- the process level -----------------------------------------------------------------------------

def test_subprocess_exit_2_without_traceback(tmp_path):
    path = tmp_path / "m.npy"
    np.save(path, np.array([[1 + 1j, 2]]))
    out = tmp_path / "out.json"
    out.write_text(SENTINEL)
    proc = subprocess.run([sys.executable, "-m", "rankcollapse", "residual", str(path), "--json", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and str(path) in proc.stderr
    assert "complex128" in proc.stderr and out.read_text() == SENTINEL
