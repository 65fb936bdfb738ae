"""rankcollapse: verify the rank-collapse theorems of Dong, Cordonnier & Loukas (ICML 2021).

Three layers under one import root: ``rankcollapse.proofs`` states and derives the claims in
SymPy, ``rankcollapse.numerics`` computes and certifies them, and the command line sits on top
(``rankcollapse --help``). The names below are the public API; every other module is internal
and may change. They load on first use, so ``import rankcollapse`` stays cheap.

>>> import rankcollapse as rc
>>> net = rc.single_head([["1"]], [["1"]], [["1"]], depth=2)
>>> report = rc.check_network(net, [["0"], ["0.25"]])
>>> [r.verdicts["one_step"].verdict for r in report.layers[1:]]
['holds', 'holds']
>>> rc.get_claim("E1").kind
'theorem'
"""

from __future__ import annotations

import importlib

# public name -> (module below rankcollapse, attribute or None for the module itself)
_PUBLIC = {
    # number contexts
    "get_context": ("numerics.context", "get_context"),
    # the network model
    **{name: ("numerics.network", name) for name in (
        "Network", "Layer", "Attention", "Head", "MLP", "LayerNorm", "Split", "single_head",
        "forward", "forward_split")},
    # inputs and networks on disk
    **{name: ("numerics.instance", name) for name in (
        "Instance", "InstanceError", "load_instance", "parse_instance", "save_instance")},
    "read_matrix": ("numerics.matrices", "read_matrix"),
    # certified computation
    "residual_bracket": ("numerics.residual", "residual_bracket"),
    "Bracket": ("numerics.residual", "Bracket"),
    "check_network": ("numerics.certify", "check_network"),
    **{name: ("numerics.bounds", name) for name in (
        "one_step_bound", "apriori_bounds", "published_bounds", "published_closed_form")},
    **{name: ("numerics.verdict", name) for name in (
        "Verdict", "decide", "HOLDS", "VIOLATED", "INCONCLUSIVE")},
    # property testing of your own variants
    "strategies": ("numerics.strategies", None),
    # the claim registry
    "all_claims": ("proofs.registry", "all_claims"),
    "get_claim": ("proofs.registry", "get"),
    "Claim": ("proofs.registry", "Claim"),
    "Step": ("proofs.registry", "Step"),
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    try:
        module, attribute = _PUBLIC[name]
    except KeyError:
        raise AttributeError(f"module 'rankcollapse' has no attribute {name!r}") from None
    if module.startswith("proofs"):
        importlib.import_module(f"{__name__}.proofs")  # registers every claim family
    value = importlib.import_module(f"{__name__}.{module}")
    value = value if attribute is None else getattr(value, attribute)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
