"""The command line as a user runs it: outputs, JSON formats, exit codes, clear errors."""

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from rankcollapse.cli import main

ROOT = Path(__file__).resolve().parents[1]
FLOAT_TRAP = str(ROOT / "docs" / "instances" / "float_trap.json")


def run(*args):
    return main(list(args))


def test_check_json_format(tmp_path, capsys):
    out = tmp_path / "check.json"
    assert run("check", FLOAT_TRAP, "--json", str(out)) == 0
    rep = json.loads(out.read_text())
    assert rep["format"] == "rankcollapse-check/1"
    assert [l["layer"] for l in rep["layers"]] == [0, 1]
    layer1 = rep["layers"][1]
    assert set(layer1) == {"layer", "residual_lower", "residual_upper", "bounds", "verdicts", "reasons"}
    assert layer1["reasons"] == {} and rep["sec3.3"] is None  # every verdict decided; no LayerNorm
    assert layer1["verdicts"] == {"one_step": "holds", "E4": "holds", "published": "holds"}
    assert Fraction(layer1["residual_upper"]) <= Fraction(layer1["bounds"]["one_step"])
    assert len(layer1["residual_upper"].replace("-", "").split("e")[0].replace(".", "")) >= 15
    assert "holds" in capsys.readouterr().out


def test_check_float64_backend_never_decides(capsys):
    assert run("check", FLOAT_TRAP, "--backend", "float64") == 3
    assert "inconclusive" in capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["npy", "csv", "json"])
def test_residual_reads_three_formats(tmp_path, fmt):
    A = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    path = tmp_path / f"m.{fmt}"
    if fmt == "npy":
        np.save(path, A)
    elif fmt == "csv":
        path.write_text("\n".join(",".join(str(v) for v in row) for row in A))
    else:
        path.write_text(json.dumps({"matrix": [[str(v) for v in row] for row in A]}))
    out = tmp_path / "r.json"
    assert run("residual", str(path), "--json", str(out)) == 0
    rep = json.loads(out.read_text())
    assert set(rep) == {"r_lower", "r_upper", "r_token_mean", "r_token_mean_lower"}
    lo, hi, tm, tm_lo = (Fraction(rep[k]) for k in ("r_lower", "r_upper", "r_token_mean", "r_token_mean_lower"))
    assert 0 < lo <= hi <= tm and tm_lo <= tm


def test_bound_depth_40_is_fast_and_exact_in_log_space(tmp_path):
    out = tmp_path / "b.json"
    assert run("bound", "--depth", "40", "--heads", "2", "--beta", "0.1", "--gamma", "1", "--dqk", "4",
               "--r0", "0.5", "--json", str(out)) == 0
    rep = json.loads(out.read_text())
    assert rep["contracts"] is True and rep["a"].startswith("0.4")
    # log10 = ((3^40-1)/2) log10(0.4) + 3^40 log10(0.5)
    import math
    expected = (3**40 - 1) / 2 * math.log10(0.4) + 3**40 * math.log10(0.5)
    assert abs(float(rep["log10"]) / expected - 1) < 1e-12


def test_derive_every_claim(capsys):
    from rankcollapse import proofs

    for claim in proofs.all_claims():
        assert run("derive", claim.id) == 0
        assert claim.id in capsys.readouterr().out
    assert run("derive", "E1", "--latex") == 0
    assert "\\leq" in capsys.readouterr().out


def _error(capsys, *args):
    code = run(*args)
    err = capsys.readouterr()
    text = err.out + err.err
    assert code == 2, text
    assert "Traceback" not in text
    return text


def test_bad_inputs_exit_2_with_a_message_and_write_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "rankcollapse-instance/1", "input": [["1", "2"], ["3"]],
                               "d_qk": 1, "layers": []}))
    keep = tmp_path / "keep.json"
    keep.write_text("precious")
    assert "input[1]" in _error(capsys, "check", str(bad), "--json", str(keep))
    assert keep.read_text() == "precious"
    assert "no such file" in _error(capsys, "residual", str(tmp_path / "nope.csv"))
    (tmp_path / "x.txt").write_text("1")
    assert "unknown file type" in _error(capsys, "residual", str(tmp_path / "x.txt"))
    (tmp_path / "ragged.csv").write_text("1,2\n3\n")
    assert "matrix[1]" in _error(capsys, "residual", str(tmp_path / "ragged.csv"))
    assert "--beta must be positive" in _error(capsys, "bound", "--depth", "3", "--beta", "-1", "--dqk", "1",
                                               "--r0", "0.5")
    assert "unknown claim" in _error(capsys, "derive", "thm9.9")
    assert "does not exist" in _error(capsys, "check", FLOAT_TRAP, "--json", str(tmp_path / "no" / "x.json"))
    assert _error(capsys, "verify", "--suite", "huge")  # argparse: exit 2, usage message


def test_console_script_runs_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "rankcollapse", "check", str(tmp_path / "missing.json")],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert "cannot read" in proc.stdout + proc.stderr and "Traceback" not in proc.stderr


def _matrix_csv(tmp_path, text="0,1\n1,0\n0.5,0.5\n", name="m.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("bits", ["0", "1", "-5"])
def test_residual_rejects_too_few_bits(tmp_path, capsys, bits):
    out = tmp_path / "r.json"
    text = _error(capsys, "residual", _matrix_csv(tmp_path), "--bits", bits, "--json", str(out))
    assert "--bits" in text and bits in text
    assert not out.exists()


BOUND = ("bound", "--depth", "3", "--beta", "0.1", "--dqk", "1", "--r0", "0.5")


@pytest.mark.parametrize("args", [
    ("residual", "MATRIX"), BOUND, ("check", FLOAT_TRAP), ("verify", "--suite", "quick")])
def test_json_to_an_existing_directory_fails_before_any_work(tmp_path, capsys, args):
    target = tmp_path / "out"
    target.mkdir()
    args = tuple(_matrix_csv(tmp_path) if a == "MATRIX" else a for a in args)
    text = _error(capsys, *args, "--json", str(target))
    assert "--json" in text and "is a directory" in text and str(target) in text
    assert list(target.iterdir()) == []


@pytest.mark.parametrize("option", ["--json", "--plot", "--paths-plot"])
def test_real_model_outputs_to_an_existing_directory(tmp_path, capsys, option):
    target = tmp_path / "out"
    target.mkdir()
    text = _error(capsys, "real-model", option, str(target))  # fails before loading any model
    assert option in text and "is a directory" in text
    assert list(target.iterdir()) == []


def test_figures_out_an_existing_file(tmp_path, capsys):
    target = tmp_path / "figs"
    target.write_text("precious")
    text = _error(capsys, "figures", "--out", str(target), "--only", "path_lengths")
    assert "--out" in text and str(target) in text and "not a directory" in text
    assert target.read_text() == "precious"


def test_huge_decimal_exponents_are_rejected_quickly(tmp_path, capsys):
    out = tmp_path / "b.json"
    text = _error(capsys, *BOUND, "--eps", "1e-999999999", "--json", str(out))
    assert "--eps" in text and "1e-999999999" in text and "exponent" in text
    csv = _matrix_csv(tmp_path, "0,1\n1,1e-999999999\n")
    text = _error(capsys, "residual", csv, "--json", str(out))
    assert "matrix[1][1]" in text and "1e-999999999" in text and text.count(csv) == 1
    js = tmp_path / "m.json"
    js.write_text('{"matrix": [[0, 1E+999999999], [1, 0]]}')  # a JSON number, not a string
    text = _error(capsys, "residual", str(js), "--json", str(out))
    assert "matrix[0][1]" in text and "1E+999999999" in text
    assert not out.exists()


def test_to_fraction_caps_the_exponent_only():
    from rankcollapse.numerics.exact import MAX_EXPONENT, to_fraction

    assert to_fraction(f"2e-{MAX_EXPONENT}") == Fraction(2, 10**MAX_EXPONENT)
    assert to_fraction("1.5E+3") == 1500
    for s in (f"1e-{MAX_EXPONENT + 1}", "1e+99999999999999999999"):
        with pytest.raises(ValueError, match="exponent too large"):
            to_fraction(s)
    with pytest.raises(ValueError, match="not a finite decimal number"):  # underscores are not decimal syntax
        to_fraction("-3E1_000_001")


def test_bound_depth_too_large_names_depth_and_the_limit(tmp_path, capsys):
    from rankcollapse.cli import MAX_DEPTH

    assert run(*BOUND[:2], "700", *BOUND[3:]) == 0  # (3^L - 1)/2 once overflowed a double at 647
    capsys.readouterr()
    out = tmp_path / "b.json"
    for depth in (MAX_DEPTH + 1, 10 * MAX_DEPTH):
        text = _error(capsys, "bound", "--depth", str(depth), *BOUND[3:], "--json", str(out))
        assert "--depth" in text and str(depth) in text and str(MAX_DEPTH) in text
        assert "4300" not in text
    assert not out.exists()


def test_residual_error_names_the_file_once(tmp_path, capsys):
    csv = _matrix_csv(tmp_path, "0,1\nx,0\n")
    text = _error(capsys, "residual", csv)
    assert text.count(csv) == 1 and "matrix[1][0]" in text and "'x'" in text


def test_help_does_not_import_matplotlib_or_sympy():
    code = ("import sys\nfrom rankcollapse.cli import build_parser\nbuild_parser()\n"
            "print(sorted(m for m in ('matplotlib', 'sympy', 'rankcollapse.numerics.certify') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_check_rejects_a_huge_exponent_in_an_instance_file(tmp_path, capsys):
    bad = tmp_path / "huge.json"
    bad.write_text('{"format": "rankcollapse-instance/1", "input": [[1e-999999999], [0]], "d_qk": 1, "layers": []}')
    assert main(["check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "input[0][0]" in err and "exponent too large" in err and "Traceback" not in err


def test_verify_table_keeps_verdicts_whole_on_a_pipe():
    """Piped output is 80 columns wide: the title shrinks, never a verdict or a number."""
    from types import SimpleNamespace

    from rich.console import Console

    from rankcollapse.verify import print_table

    claim = SimpleNamespace(id="thm2.2.causal", kind="published", title="A long title " * 5)
    results = [SimpleNamespace(claim=claim, verdict=v, examples=12345, worst_ratio=1.552e16, seconds=104.3,
                               counterexample=None) for v in ("inconclusive", "violated", "holds")]
    console = Console(width=80, record=True)
    print_table(results, console)
    text = console.export_text()
    for word in ("thm2.2.causal", "published", "inconclusive", "violated", "12345", "1.552e+16", "104.3"):
        assert word in text
