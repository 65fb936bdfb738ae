"""The claim registry: what the toolkit states, and how each step is backed.

A ``Claim`` is one statement from THEORY.md: a theorem the toolkit proves (kind
``theorem``) or a published statement it encodes as written and then tests (kind
``published``).  A claim is a sequence of ``Step`` objects, each with an honest status:

- ``proved``: ``step.proof()`` runs a SymPy proof here and returns True iff it goes through;
  ``step.sizes`` says on which fixed sizes (e.g. ``"n=3, d=2"``) when the proof is not for every
  size (then the status reads ``proved for n=3, d=2``);
- ``numeric``: spot-checked by ``numerics/`` under the id ``"<claim id>:<step label>"`` (a
  ``proved`` step may keep such a spot-check next to its proof);
- ``assumed``: a standard fact, with the reason in ``step.reason``.

Every family module calls ``register`` at import time, so ``import proofs`` fills the
registry.

>>> from rankcollapse import proofs
>>> get("N1").kind
'theorem'
>>> [ok for _, ok in check_steps("N1")]
[None, True, True, True]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal, get_args

import sympy

Status = Literal["proved", "numeric", "assumed"]
Kind = Literal["theorem", "published"]
FAMILIES = ("norms", "single_head", "multi_head", "paths", "skip", "mlp", "layernorm",
            "erratum", "lower_bounds", "gradients", "masks")


@dataclass(frozen=True)
class Step:
    label: str
    text: str
    statement: sympy.Basic | None
    status: Status
    reason: str
    proof: Callable[[], bool] | None = None
    numeric_check: str | None = None
    sizes: str = ""  # fixed sizes a 'proved' step is proved on; "" = every size

    @property
    def scope(self) -> str:
        """The status with its scope: ``proved``, ``proved for n=3, d=2``, ``numeric``, ``assumed``."""
        return f"{self.status} for {self.sizes}" if self.sizes else self.status

    @property
    def kind_of_support(self) -> str:
        """``general``, ``fixed-size``, ``numeric`` or ``assumed`` (what ``derive`` counts)."""
        if self.status == "proved":
            return "fixed-size" if self.sizes else "general"
        return self.status

    def __post_init__(self):
        if self.status not in get_args(Status):
            raise ValueError(f"{self.label}: unknown status {self.status!r}")
        if (self.proof is not None) != (self.status == "proved"):
            raise ValueError(f"{self.label}: a step has a proof iff its status is 'proved'")
        if self.status == "numeric" and self.numeric_check is None:
            raise ValueError(f"{self.label}: a 'numeric' step needs a numeric_check")
        if self.status == "assumed" and self.numeric_check is not None:
            raise ValueError(f"{self.label}: an 'assumed' step has no numeric_check")
        if not self.reason:
            raise ValueError(f"{self.label}: every step needs a reason")
        if self.sizes and self.status != "proved":
            raise ValueError(f"{self.label}: only a 'proved' step has sizes")


@dataclass(frozen=True)
class Claim:
    id: str
    title: str
    source: str
    kind: Kind
    family: str
    hypotheses: tuple[str, ...]
    statement: sympy.Basic
    steps: tuple[Step, ...]
    notes: str = ""

    def __post_init__(self):
        if self.kind not in get_args(Kind):
            raise ValueError(f"{self.id}: unknown kind {self.kind!r}")
        if self.family not in FAMILIES:
            raise ValueError(f"{self.id}: unknown family {self.family!r}")
        labels = [step.label for step in self.steps]
        if len(set(labels)) != len(labels):
            raise ValueError(f"{self.id}: duplicate step labels {labels}")
        for step in self.steps:
            if step.numeric_check not in (None, f"{self.id}:{step.label}"):
                raise ValueError(f"{self.id}: numeric_check of {step.label} must be "
                                 f"'{self.id}:{step.label}', got {step.numeric_check!r}")

    def latex(self) -> str:
        """LaTeX (align*) of the statement and of every step's formula."""
        rows = [rf"&\text{{{_tex_escape(self.id)}}} && {sympy.latex(self.statement)}"]
        rows += [rf"&\text{{{_tex_escape(step.label)} ({_tex_escape(step.scope)})}} && "
                 + (sympy.latex(step.statement) if step.statement is not None
                    else rf"\text{{{_tex_escape(step.text)}}}")
                 for step in self.steps]
        return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"

    def render(self, latex: bool = False) -> str:
        """Statement, hypotheses, numbered steps with status, and notes.

        Plain text uses SymPy's ``sstr`` for formulas; ``latex=True`` gives a LaTeX fragment.
        """
        text = _tex_escape if latex else str
        formula = (lambda e: rf"\[ {sympy.latex(e)} \]") if latex else sympy.sstr
        steps = []
        for step in self.steps:
            body = [f"{text(step.label)} [{text(step.scope)}]: {text(step.text)}"]
            if step.statement is not None:
                body.append(formula(step.statement))
            body.append(f"reason: {text(step.reason)}")
            if step.numeric_check:
                body.append(f"numeric check: {text(step.numeric_check)}")
            steps.append(body)
        lines = [f"{text(self.id)} ({self.kind}, family {text(self.family)}): {text(self.title)}",
                 f"Source: {text(self.source)}",
                 f"Statement: {formula(self.statement)}",
                 "Hypotheses:", *_listing([[text(h)] for h in self.hypotheses], "itemize", latex),
                 "Steps:", *_listing(steps, "enumerate", latex)]
        if self.notes:
            lines.append(f"Notes: {text(self.notes)}")
        return "\n".join(lines)


_TEX_SPECIAL = {"\\": r"\textbackslash{}", "^": r"\^{}", "~": r"\~{}",
                **{char: "\\" + char for char in "&%$#_{}"}}


def _tex_escape(value: str) -> str:
    """Escape LaTeX's special characters in prose."""
    return "".join(_TEX_SPECIAL.get(char, char) for char in value)


def _listing(items: list[list[str]], env: str, latex: bool) -> list[str]:
    """A bulleted (itemize) or numbered (enumerate) list of multi-line items."""
    if latex:
        return [rf"\begin{{{env}}}", *(r"\item " + "\n".join(body) for body in items),
                rf"\end{{{env}}}"]
    out = []
    for number, body in enumerate(items, 1):
        out.append(f"  {f'{number}.' if env == 'enumerate' else '-'} {body[0]}")
        out += [f"     {line}" for line in body[1:]]
    return out


_REGISTRY: dict[str, Claim] = {}


def register(claim: Claim) -> Claim:
    """Add claim to the registry (ids are unique) and return it."""
    if claim.id in _REGISTRY:
        raise ValueError(f"claim id {claim.id!r} is already registered")
    _REGISTRY[claim.id] = claim
    return claim


def get(claim_id: str) -> Claim:
    """The registered claim with this id; KeyError lists the known ids."""
    try:
        return _REGISTRY[claim_id]
    except KeyError:
        known = ", ".join(c.id for c in all_claims())
        raise KeyError(f"unknown claim id {claim_id!r}; known ids: {known}") from None


def all_claims() -> list[Claim]:
    """All claims, families in FAMILIES order, registration order within a family."""
    return sorted(_REGISTRY.values(), key=lambda claim: FAMILIES.index(claim.family))


def check_steps(claim: Claim | str) -> list[tuple[Step, bool | None]]:
    """Run every 'proved' step's proof: (step, True/False), or (step, None) otherwise.

    A proof must return a Python bool; an exception inside a proof propagates (it is a
    bug to surface, not a verdict).
    """
    if isinstance(claim, str):
        claim = get(claim)
    results: list[tuple[Step, bool | None]] = []
    for step in claim.steps:
        if step.proof is None:
            results.append((step, None))
            continue
        outcome = step.proof()
        if not isinstance(outcome, bool):
            raise TypeError(f"{claim.id} {step.label}: proof returned {outcome!r}, not a bool")
        results.append((step, outcome))
    return results
