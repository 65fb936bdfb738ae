"""rankcollapse.proofs: what the toolkit states about rank collapse, and why.

Every claim of docs/theory.md is a registered ``Claim``: its SymPy statement, its hypotheses and
a sequence of ``Step`` objects, each ``proved`` (a SymPy proof runs here), ``numeric``
(spot-checked by ``rankcollapse.numerics.checks``) or ``assumed`` (a standard fact, reason
given).  Importing this package discovers and registers every family: each module with a
teaching ``ORDER`` (norms, single_head, multi_head, paths, skip, mlp, layernorm, erratum, ...).
The package uses SymPy only.

>>> from rankcollapse import proofs
>>> [claim.id for claim in proofs.all_claims()][:4]
['N1', 'N2', 'N3', 'E1']
>>> all(ok is not False for ok in (ok for _, ok in proofs.check_steps("E4")))
True
"""

import sys

from .registry import Claim, Step, all_claims, check_steps, discover, get

discover(sys.modules[__name__])  # a family module registers its claims when imported

__all__ = ["Claim", "Step", "all_claims", "check_steps", "get"]
