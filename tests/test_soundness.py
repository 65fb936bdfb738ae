"""Regression tests of issue 9: every input is either certified correctly or refused cleanly
(exit 2, a message naming the file and the entry, no traceback, nothing overwritten)."""

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from rankcollapse.cli import main
from rankcollapse.numerics.context import get_context
from rankcollapse.numerics.instance import InstanceError
from rankcollapse.numerics.matrices import read_matrix
from rankcollapse.numerics.residual import residual_bracket

ROOT = Path(__file__).resolve().parents[1]
FLOAT_TRAP = str(ROOT / "docs" / "instances" / "float_trap.json")


def run(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.out, out.err


def refused(capsys, *args):
    code, out, err = run(capsys, *args)
    assert code == 2, out + err
    return err


def residual_json(capsys, tmp_path, path, *options):
    out = tmp_path / "r.json"
    code, text, err = run(capsys, "residual", path, *options, "--json", out)
    assert code == 0, err
    rep = json.loads(out.read_text())
    return Fraction(rep["r_lower"]), Fraction(rep["r_upper"]), text


def exact_r(rows):
    """r of an exact integer/Fraction matrix, from its exact entries (arb, 256 bits)."""
    ctx = get_context("arb")
    with ctx.workprec(256):
        b = residual_bracket(ctx, ctx.array(np.array(rows, dtype=object)))
    return b.lower, b.upper


# -- 1. .npy read exactly ----------------------------------------------------------------------

def test_int64_npy_near_2_62_is_read_exactly(tmp_path, capsys):
    rows = [[2**62, 0], [2**62 + 1, 1], [2**62 + 3, 5]]
    np.save(tmp_path / "m.npy", np.array(rows, dtype=np.int64))
    lo, hi, _ = residual_json(capsys, tmp_path, tmp_path / "m.npy")
    true_lo, true_hi = exact_r(rows)
    assert lo <= true_hi and true_lo <= hi  # the old float64 reading gave a bracket missing r
    (tmp_path / "m.csv").write_text("\n".join(",".join(map(str, r)) for r in rows))
    assert residual_json(capsys, tmp_path, tmp_path / "m.csv")[:2] == (lo, hi)


def test_long_double_rows_2_to_the_minus_60_apart(tmp_path, capsys):
    A = np.ones((2, 2), dtype=np.longdouble)
    A[1, 0] += np.longdouble(2) ** -60
    if A[1, 0] == 1:
        pytest.skip("long double is a double on this platform")
    np.save(tmp_path / "m.npy", A)
    lo, hi, _ = residual_json(capsys, tmp_path, tmp_path / "m.npy")
    lo_t, hi_t = exact_r([[1, 1], [1 + Fraction(1, 2**60), 1]])
    assert 0 < lo <= hi_t and lo_t <= hi  # the old reading (through float64) gave [0, 0]


@pytest.mark.parametrize("dtype", [np.int8, np.uint16, np.int32, np.uint64, np.float16, np.float32, np.float64,
                                   np.longdouble])
def test_every_real_dtype_is_exact(tmp_path, dtype):
    integer = np.dtype(dtype).kind in "iu"
    A = np.array([[1, 2], [3, np.iinfo(dtype).max]] if integer else [[0.1, 2.5], [-3.75, 1e-3]], dtype=dtype)
    np.save(tmp_path / "m.npy", A)
    M = read_matrix(tmp_path / "m.npy")
    assert M.dtype == object and M.shape == A.shape
    for got, want in zip(M.flat, A.flat):
        exact = int(want) if integer else Fraction(*want.as_integer_ratio())
        assert isinstance(got, (int, Fraction)) and got == exact


@pytest.mark.parametrize("array, message", [
    (np.array([[1 + 2j, 0]]), "complex128"),
    (np.array([[True, False]]), "bool"),
    (np.array([["1", "2"]]), "<U1"),
    (np.zeros((0, 3)), "shape (0, 3)"),
    (np.zeros(3), "shape (3,)"),
    (np.array([[0.0, np.nan]]), "matrix[0][1]: nan is not a finite number"),
    (np.array([[np.inf], [0]], dtype=np.float32), "matrix[0][0]: inf"),
])
def test_npy_without_exact_real_entries_is_refused(tmp_path, capsys, array, message):
    np.save(tmp_path / "m.npy", array)
    with pytest.raises(InstanceError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
                       .replace("]", r"\]")):
        read_matrix(tmp_path / "m.npy")
    assert message in refused(capsys, "residual", tmp_path / "m.npy")


def test_object_and_broken_npy_are_refused(tmp_path, capsys):
    np.save(tmp_path / "o.npy", np.array([[Fraction(1, 3)]], dtype=object), allow_pickle=True)
    assert "o.npy" in refused(capsys, "residual", tmp_path / "o.npy")
    (tmp_path / "b.npy").write_bytes(b"\x93NUMPY garbage")
    assert "not a readable .npy" in refused(capsys, "residual", tmp_path / "b.npy")


# -- 2. no tracebacks -----------------------------------------------------------------------------

def instance(X, W="1", layernorm=None, layers=1, skip=False):
    d = len(X[0])
    eye = [[W if i == j else "0" for j in range(d)] for i in range(d)]
    att = {"heads": [{"W_Q": eye, "W_K": eye, "W_V": eye}], "skip": skip}
    if layernorm is not None:
        att["layernorm"] = layernorm
    return {"format": "rankcollapse-instance/1", "input": X, "d_qk": d, "layers": [{"attention": att}] * layers}


def write(tmp_path, obj, name="inst.json"):
    path = tmp_path / name
    path.write_text(json.dumps(obj))
    return path


def check_json(capsys, tmp_path, path, *options):
    out = tmp_path / "c.json"
    code, text, err = run(capsys, "check", path, *options, "--json", out)
    assert code in (0, 1, 3), err
    return code, json.loads(out.read_text()), text


def test_check_table_with_bounds_beyond_the_double_range(tmp_path, capsys):
    code, rep, text = check_json(capsys, tmp_path, write(tmp_path, instance([["0"], ["50"]])))
    assert all(v == "holds" for v in rep["layers"][1]["verdicts"].values())
    assert "e544" in text  # the one-step bound's upper end, ~3.7e544
    # M2 is an exact equality here (diam(X^1) = delta(P) diam(X) = 25 - 50/(1 + e^2500)): an
    # equality case stays inconclusive, and inconclusive is exit code 3
    assert code == 3 and rep["M2"][0]["verdict"] == "inconclusive" and "equality" in rep["M2"][0]["reason"]
    assert Fraction(rep["layers"][1]["bounds"]["one_step"]) > Fraction(10) ** 308


def test_check_table_never_shows_a_tiny_bracket_as_zero(tmp_path, capsys):
    code, rep, text = check_json(capsys, tmp_path, write(tmp_path, instance([["0"], ["1e-400"]])))
    assert Fraction(rep["layers"][0]["residual_lower"]) > 0
    assert "[0, 0]" not in text and "7.071e-401" in text


def test_residual_beyond_the_double_range(tmp_path, capsys):
    (tmp_path / "m.csv").write_text("0,1e400\n1,0\n")
    lo, hi, _ = residual_json(capsys, tmp_path, tmp_path / "m.csv")
    # x = (1/2, 1e400/2): f = 1e400, g = (1 + 1e400)/2, r^2 = f g
    assert lo ** 2 <= Fraction(10) ** 400 * (1 + Fraction(10) ** 400) / 2 <= hi ** 2
    assert hi / lo - 1 < Fraction(1, 10**12)
    code, rep, _ = check_json(capsys, tmp_path, write(tmp_path, instance([["0"], ["1.7e308"], ["-1.7e308"]])))
    assert Fraction(rep["layers"][0]["residual_lower"]) > Fraction(17, 10) * Fraction(10) ** 308


def test_logits_beyond_the_double_range_pick_the_true_row_maximum():
    from rankcollapse.numerics.network import softmax_rows

    for name in ("arb", "mpmath"):
        ctx = get_context(name)
        with ctx.workprec(2048):  # enough bits for 1e400 to be known to within 1
            P = softmax_rows(ctx, ctx.array([["0", "1e400", "2e400"], ["-3e400", "-1e400", "-2e400"]]))
            Pm = softmax_rows(ctx, ctx.array([["0", "1e400", "2e400", "3e400"]]), np.array([[True, True, True, False]]))
        top = [[ctx.lo(p) for p in row] for row in P]
        assert top[0][2] > Fraction(99, 100) and top[1][1] > Fraction(99, 100), name  # doubles tie at inf
        assert ctx.lo(Pm[0, 2]) > Fraction(99, 100) and ctx.hi(Pm[0, 3]) == 0, name  # the masked key is no maximum


def test_logits_beyond_the_double_range_in_check(tmp_path, capsys):
    code, rep, _ = check_json(capsys, tmp_path, write(tmp_path, instance([["1e200"], ["2e200"], ["3e200"]])))
    layer = rep["layers"][1]
    assert layer["residual_upper"] != "inf" and layer["verdicts"]["one_step"] == "holds"


def test_check_mpmath_and_arb_agree_on_the_float_trap(tmp_path, capsys):
    reps = {}
    for backend in ("arb", "mpmath"):
        code, reps[backend], _ = check_json(capsys, tmp_path, FLOAT_TRAP, "--backend", backend)
        assert code == 0 and reps[backend]["backend"] == backend
        assert set(reps[backend]["layers"][1]["verdicts"].values()) == {"holds"}
    for a, m in zip(reps["arb"]["layers"], reps["mpmath"]["layers"]):
        assert Fraction(a["residual_lower"]) <= Fraction(m["residual_upper"])
        assert Fraction(m["residual_lower"]) <= Fraction(a["residual_upper"])


@pytest.mark.parametrize("name, data, message", [
    ("m.csv", b"1,\xff\n2,3\n", "not UTF-8"),
    ("m.json", b'{"matrix": ' + b"[" * 100000 + b"]" * 100000 + b"}", "nested too deeply"),
    ("m.json", b'{"matrix": [[1, 2], [3, 4]], "matrix": [[1, 2], [3, 5]]}', "duplicate key 'matrix'"),
    ("m.csv", "0,1e\u0669\u0669\u0669\u0669\u0669\u0669\u0669\u0669\u0669\n1,0\n".encode(), "matrix[0][1]"),
    ("m.csv", "0,\u0661\n1,0\n".encode(), "not a finite decimal number"),
    ("m.csv", b"0,1_0\n1,0\n", "matrix[0][1]"),
])
def test_bad_matrix_files_are_refused(tmp_path, capsys, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    keep = tmp_path / "keep.json"
    keep.write_text("precious")
    err = refused(capsys, "residual", path, "--json", keep)
    assert message in err and str(path) in err
    assert keep.read_text() == "precious"


def test_bad_instance_files_are_refused(tmp_path, capsys):
    (tmp_path / "x.json").write_bytes(b"\xfe\xff{}")
    assert "not UTF-8" in refused(capsys, "check", tmp_path / "x.json")
    text = json.dumps(instance([["0"], ["1"]]))
    (tmp_path / "d.json").write_text(text[:-1] + ', "d_qk": 2}')
    assert "duplicate key 'd_qk'" in refused(capsys, "check", tmp_path / "d.json")
    obj = instance([["0"], ["1e\u0669\u0669\u0669\u0669\u0669\u0669\u0669\u0669\u0669"]])
    assert "input[1][0]" in refused(capsys, "check", write(tmp_path, obj))


def test_output_folders_are_checked_before_any_work(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    err = refused(capsys, "verify", "--suite", "quick", "--out", tmp_path / "file" / "sub")
    assert "--out" in err and "not a directory" in err
    err = refused(capsys, "check", FLOAT_TRAP, "--json", tmp_path / "nope" / "c.json")
    assert "does not exist" in err


# -- 3. hangs ---------------------------------------------------------------------------------------

def test_bound_options_need_ascii_digits(tmp_path, capsys):
    base = ["bound", "--depth", "3", "--beta", "0.1", "--dqk", "1", "--r0", "0.5"]
    err = refused(capsys, *base, "--eps", "1e-\u0669\u0669\u0669\u0669\u0669\u0669\u0669\u0669\u0669")
    assert "--eps" in err
    assert "--depth" in refused(capsys, "bound", "--depth", "\u0663", *base[3:])


def test_bits_has_an_upper_limit(tmp_path, capsys):
    (tmp_path / "m.csv").write_text("0,1\n1,0\n")
    err = refused(capsys, "residual", tmp_path / "m.csv", "--bits", "1000000000")
    assert "--bits" in err and "262144" in err


# -- 4. LayerNorm eps, duplicate keys -----------------------------------------------------------

@pytest.mark.parametrize("eps", ["", False, [], {}])
def test_layernorm_eps_must_be_a_number(tmp_path, capsys, eps):
    obj = instance([["0", "1"], ["1", "0"]], layernorm={"position": "pre", "eps": eps})
    assert "layers[0].attention.layernorm.eps" in refused(capsys, "check", write(tmp_path, obj))


def test_layernorm_eps_zero_with_d_1_is_refused_at_load_time(tmp_path, capsys):
    obj = instance([["0"], ["1"]], layernorm={"position": "post", "eps": "0"})
    err = refused(capsys, "check", write(tmp_path, obj))
    assert "layers[0].attention.layernorm.eps" in err and "eps = 0" in err and "d = 1" in err


def test_layernorm_eps_zero_on_a_constant_input_row(tmp_path, capsys):
    obj = instance([["2", "2"], ["1", "0"]], layernorm={"position": "pre", "eps": 0})
    err = refused(capsys, "check", write(tmp_path, obj))
    assert "input[0]" in err and "eps = 0" in err


def test_layernorm_eps_zero_on_a_constant_row_at_run_time(tmp_path, capsys):
    obj = instance([["0", "1"], ["1", "0"]], layernorm={"position": "post", "eps": "0"})
    obj["layers"][0]["attention"]["heads"][0]["W_V"] = [["1", "1"], ["1", "1"]]  # equal columns
    err = refused(capsys, "check", write(tmp_path, obj))
    assert "layers[0].attention.layernorm" in err and "eps = 0" in err


# -- 6. the sec3.3 finding re-checks with `check` -----------------------------------------------

def test_check_re_checks_a_sec33_counterexample(tmp_path, capsys):
    from rankcollapse.numerics.checks.common import certified_verdict, save_case
    from rankcollapse.numerics.checks.layernorm import ln_pairs, seeded_case

    case = seeded_case(21)  # a seed whose LayerNorm stack does not collapse while the plain one does
    assert certified_verdict(ln_pairs, case, 1.0)[0].verdict == "violated"
    path = save_case(tmp_path / "sec3.3.json", case)  # as verify saves it
    for backend in ("arb", "mpmath"):
        code, rep, text = check_json(capsys, tmp_path, path, "--backend", backend)
        sec = rep["sec3.3"]
        assert code == 0 and sec["verdict"] == "violated" and sec["depth"] == 12, text  # published: exit 0
        assert Fraction(sec["rho_without_layernorm"][1]) <= Fraction(1, 100) < Fraction(sec["rho_with_layernorm"][0])
        assert "sec3.3" in text and "violated" in text


def test_check_sec33_holds_on_a_collapsing_stack_and_is_absent_without_layernorm(tmp_path, capsys):
    from rankcollapse.numerics.checks.common import save_case
    from rankcollapse.numerics.checks.layernorm import collapsing_example

    path = save_case(tmp_path / "c.json", collapsing_example())
    assert check_json(capsys, tmp_path, path)[1]["sec3.3"]["verdict"] == "holds"
    assert check_json(capsys, tmp_path, FLOAT_TRAP)[1]["sec3.3"] is None


# -- 7. a skip layer whose bound lies inside r's bracket says why it stays open ----------------

def test_skip_layer_equality_says_why_it_stays_open(tmp_path, capsys):
    obj = instance([["0", "1"], ["1", "0"], ["0.5", "0.25"]], skip=True)
    obj["layers"][0]["attention"]["heads"][0]["W_V"] = [["0", "0"], ["0", "0"]]  # X^1 = X: r(X^1) = r(X)
    code, rep, text = check_json(capsys, tmp_path, write(tmp_path, obj))
    layer = rep["layers"][1]
    assert code == 3 and layer["verdicts"]["one_step"] == "inconclusive"  # never a guessed verdict
    reason = layer["reasons"]["one_step"]
    assert "inside the bracket of r(X^l)" in reason and "not by the precision" in reason and reason in text
    lo, hi = Fraction(layer["residual_lower"]), Fraction(layer["residual_upper"])
    assert lo <= Fraction(layer["bounds"]["one_step"]) <= hi  # JSON ends are rounded outward to 17 digits
