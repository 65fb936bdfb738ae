"""Instance files (docs/theory.md §6): exact round trips and errors that name the field."""

import copy
import json
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given

from rankcollapse.numerics.context import get_context
from rankcollapse.numerics.instance import InstanceError, load_instance, parse_instance, save_instance
from rankcollapse.numerics.network import forward
from rankcollapse.numerics.strategies import network_cases

EXAMPLE = {"format": "rankcollapse-instance/1",
           "input": [["0.1", "-2"], ["3.5", "0.25"]],
           "d_qk": 1,
           "layers": [{"attention": {"heads": [{"W_Q": [["1"], ["0"]], "W_K": [["0.5"], ["1"]],
                                                "W_V": [["1", "0"], ["0", "1"]],
                                                "W_O": None, "b_Q": None, "b_K": None, "b_V": None}],
                                     "b_O": None, "skip": False, "layernorm": None},
                       "mlp": None}]}


def test_theory_example_loads_exactly(tmp_path):
    p = tmp_path / "x.json"
    p.write_text(json.dumps(EXAMPLE))
    inst = load_instance(p)
    assert inst.X[0, 0] == Fraction(1, 10) and inst.net.depth == 1
    assert inst.net.layers[0].attention.heads[0].W_K[0, 0] == Fraction(1, 2)


def test_json_numbers_keep_their_decimal_value(tmp_path):
    p = tmp_path / "x.json"
    p.write_text(json.dumps(EXAMPLE).replace('"0.1"', "0.1"))
    assert load_instance(p).X[0, 0] == Fraction(1, 10)  # not the double nearest 0.1


@given(network_cases(max_depth=2, skip=None, mlp=None, layernorm=True))
def test_round_trip_is_exact(case):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        path = save_instance(Path(d) / "case.json", case.X, case.net)
        back = load_instance(path)
    ctx = get_context("float64")
    assert (forward(ctx, back.net, back.X)[-1] == forward(ctx, case.net, case.X)[-1]).all()


def _broken(path, value):
    obj = copy.deepcopy(EXAMPLE)
    *keys, last = path
    node = obj
    for k in keys:
        node = node[k]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return obj


@pytest.mark.parametrize("path,value,message", [
    (("format",), "other/1", "format: expected 'rankcollapse-instance/1'"),
    (("input", 1), ["1"], r"input\[1\]: expected 2 entries"),
    (("input", 0, 0), "nan", r"input\[0\]\[0\]: 'nan' is not a finite decimal number"),
    (("input", 0, 0), True, r"input\[0\]\[0\]: expected a decimal string or a number"),
    (("d_qk",), 0, "d_qk: expected a positive integer"),
    (("layers", 0, "attention", "heads", 0, "W_Q"), [["1"]], r"heads\[0\]\.W_Q: expected 2 rows"),
    (("layers", 0, "attention", "heads", 0, "W_V"), [["1"], ["2"]], r"W_V: expected 2 columns"),
    (("layers", 0, "attention", "heads", 0, "b_Q"), ["1", "2"], r"b_Q: expected 1 entries"),
    (("layers", 0, "attention", "heads", 0, "W_X"), [["1"]], "unknown key"),
    (("layers", 0, "attention", "heads", 0, "W_K"), KeyError, "missing key"),
    (("layers", 0, "attention", "layernorm"), {"position": "middle"}, "position: expected"),
    (("layers", 0, "mlp"), {"W1": [["1"], ["1"]], "W2": [["1", "1"]], "activation": "swish"},
     "activation: expected one of relu, gelu, tanh"),
    (("layers", 0, "attention", "skip"), "yes", "skip: expected true or false"),
])
def test_errors_name_the_field(path, value, message):
    with pytest.raises(InstanceError, match=message) as err:
        parse_instance(_broken(path, value), "bad.json")
    assert str(err.value).startswith("bad.json: ")


def test_unreadable_and_invalid_json(tmp_path):
    with pytest.raises(InstanceError, match="cannot read"):
        load_instance(tmp_path / "missing.json")
    p = tmp_path / "x.json"
    p.write_text('{"format": NaN}')
    with pytest.raises(InstanceError, match="not valid JSON"):
        load_instance(p)


def test_non_network_cases_round_trip_exactly(tmp_path):
    """Counterexamples that are not networks (rankcollapse.numerics.checks.common.ExactCase) are saved too."""
    from rankcollapse.numerics.checks.common import load_case, save_case
    from rankcollapse.numerics.checks.norms import MatrixCase

    case = MatrixCase(np.array([[0.1, Fraction(1, 3)]], dtype=object), np.array([[2.0], [-1e-300]]))
    back = load_case(save_case(tmp_path / "m.json", case))
    assert type(back) is MatrixCase
    assert back.X.tolist() == [[Fraction(0.1), Fraction(1, 3)]] and back.W.tolist() == [[2], [Fraction(-1e-300)]]
    with pytest.raises(TypeError, match="cannot save"):
        save_case(tmp_path / "x.json", object())
    (tmp_path / "u.json").write_text(json.dumps({"format": "rankcollapse-case/1", "type": "Nope"}))
    with pytest.raises(InstanceError, match="unknown case type 'Nope'"):
        load_case(tmp_path / "u.json")


def test_json_files_get_the_mode_open_would_give(tmp_path):
    """The atomic write goes through a private temporary file; the result must not stay 0600."""
    import os

    from rankcollapse.numerics.instance import write_json_atomic

    old = os.umask(0o022)
    try:
        write_json_atomic(tmp_path / "new.json", {"a": 1})
        assert (tmp_path / "new.json").stat().st_mode & 0o777 == 0o644
        kept = tmp_path / "kept.json"
        kept.write_text("{}")
        kept.chmod(0o640)
        write_json_atomic(kept, {"a": 2})
        assert kept.stat().st_mode & 0o777 == 0o640 and '"a": 2' in kept.read_text()
    finally:
        os.umask(old)
