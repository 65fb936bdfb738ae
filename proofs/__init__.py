"""rankcollapse.proofs: what the toolkit states about rank collapse, and why.

Every claim of THEORY.md is a registered ``Claim``: its SymPy statement, its hypotheses and
a sequence of ``Step`` objects, each ``proved`` (a SymPy proof runs here), ``numeric``
(spot-checked by ``numerics/``) or ``assumed`` (a standard fact, reason given).  Importing
this package registers every family, in this order: norms, single_head, multi_head, paths,
skip, mlp, layernorm, erratum, lower_bounds, gradients, masks.  The package uses SymPy only.

>>> from rankcollapse import proofs
>>> [claim.id for claim in proofs.all_claims()][:4]
['N1', 'N2', 'N3', 'E1']
>>> all(ok is not False for ok in (ok for _, ok in proofs.check_steps("E4")))
True
"""

# Importing a family module registers its claims; keep the family order.
from . import norms, single_head, multi_head, paths, skip, mlp  # noqa: F401, I001
from . import layernorm, erratum  # noqa: F401, I001
from . import lower_bounds, gradients, masks  # noqa: F401, I001
from .registry import Claim, Step, all_claims, check_steps, get

__all__ = ["Claim", "Step", "all_claims", "check_steps", "get"]
