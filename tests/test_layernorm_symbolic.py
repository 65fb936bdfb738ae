"""Family layernorm: the published Sec 3.3 claim and what SymPy can say about it."""

from sympy import Matrix, ones, sqrt

from rankcollapse import proofs
from rankcollapse.proofs.layernorm import SHIFT_INSTANCE, layer_norm, proves_identical_rows
from rankcollapse.proofs.symbols import sym_matrix


def test_kind_and_every_proved_step():
    claim = proofs.get("sec3.3")
    assert (claim.kind, claim.family) == ("published", "layernorm")
    assert [ok for _, ok in proofs.check_steps(claim)] == [True, True, True, None]
    assert claim.steps[-1].status == "numeric" and claim.steps[-1].label == "search"
    assert "2405.18781" in claim.notes and "Shi" in claim.notes


def test_render_states_the_tested_form():
    claim = proofs.get("sec3.3")
    assert ("Implies(r(X^12)/||X^12||_{1,inf} <= 1/100, r(X^12_LN)/||X^12_LN||_{1,inf} <= 1/100)"
            in claim.render())
    assert "(r(X^12)/||X^12||_{1,inf} <= 1/100) & (r(X^12_LN)/||X^12_LN||_{1,inf} > 1/100)" in claim.render()
    assert r"\Rightarrow" in claim.latex()


def test_the_check_uses_the_claims_depth_and_threshold():
    from fractions import Fraction

    from rankcollapse.numerics.checks import layernorm as check
    from rankcollapse.proofs.layernorm import DEPTH, THRESHOLD

    assert (check.DEPTH, check.THRESHOLD) == (DEPTH, Fraction(1, 100)) == (12, THRESHOLD)


def test_layer_norm_rows():
    out = layer_norm(Matrix([[1, 2, 3], [5, 5, 8]]), [1, 1, 1], [0, 0, 0], 0)
    assert out.row(0) == Matrix([[-sqrt(6) / 2, 0, sqrt(6) / 2]])
    assert out.row(1) == Matrix([[-sqrt(2) / 2, -sqrt(2) / 2, sqrt(2)]])


def test_only_collapsed_inputs_keep_equal_rows():
    assert proves_identical_rows(ones(2, 1) * sym_matrix("v", 1, 3))
    assert not proves_identical_rows(sym_matrix("z", 2, 3))


def test_shift_instance_changes_rows_differently():
    X, v = SHIFT_INSTANCE
    unit = ([1, 1, 1], [0, 0, 0], 0)
    change = layer_norm(X + ones(2, 1) * v, *unit) - layer_norm(X, *unit)
    assert change.row(0) != change.row(1)
