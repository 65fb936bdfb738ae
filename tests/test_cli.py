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
    assert set(layer1) == {"layer", "residual_lower", "residual_upper", "bounds", "verdicts"}
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
    assert set(rep) == {"r_lower", "r_upper", "r_token_mean"}
    lo, hi, tm = (Fraction(rep[k]) for k in ("r_lower", "r_upper", "r_token_mean"))
    assert 0 < lo <= hi <= tm


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
    import proofs

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
