"""The claim registry: what the toolkit states, and how each step is backed.

A ``Claim`` is one statement from docs/theory.md: a theorem the toolkit proves (kind
``theorem``) or a published statement it encodes as written and then tests (kind
``published``).  A claim is a sequence of ``Step`` objects, each with an honest status:

- ``proved``: ``step.proof()`` runs a SymPy proof here and returns True iff it goes through;
- ``numeric``: spot-checked by a numeric check in ``rankcollapse.numerics.checks``, which
  links to the step object (the proofs layer never imports numerics); ``verify`` refuses to run
  while a numeric step has no check;
- ``assumed``: a standard fact, with the reason in ``step.reason``.

A claim family is a module of this package with a teaching ``ORDER``; importing the package
discovers every such module, whose ``register`` calls fill the registry.

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


@dataclass(frozen=True)
class Step:
    label: str
    text: str
    statement: sympy.Basic | None
    status: Status
    reason: str
    proof: Callable[[], bool] | None = None

    def __post_init__(self):
        if self.status not in get_args(Status):
            raise ValueError(f"{self.label}: unknown status {self.status!r}")
        if (self.proof is not None) != (self.status == "proved"):
            raise ValueError(f"{self.label}: a step has a proof iff its status is 'proved'")
        if not self.reason:
            raise ValueError(f"{self.label}: every step needs a reason")


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
        labels = [step.label for step in self.steps]
        if len(set(labels)) != len(labels):
            raise ValueError(f"{self.id}: duplicate step labels {labels}")

    def step(self, label: str) -> Step:
        """The step with this label (KeyError naming the labels there are)."""
        for step in self.steps:
            if step.label == label:
                return step
        raise KeyError(f"{self.id} has no step {label!r}; steps: {', '.join(s.label for s in self.steps)}")

    def latex(self) -> str:
        """LaTeX (align*) of the statement and of every step's formula."""
        rows = [rf"&\text{{{_tex_escape(self.id)}}} && {sympy.latex(self.statement)}"]
        rows += [rf"&\text{{{_tex_escape(step.label)} ({step.status})}} && "
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
            body = [f"{text(step.label)} [{step.status}]: {text(step.text)}"]
            if step.statement is not None:
                body.append(formula(step.statement))
            body.append(f"reason: {text(step.reason)}")
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
_ORDER: dict[str, int] = {}  # family -> teaching order, filled by discover()


def discover(package) -> None:
    """Import every module of ``package`` and note the ``ORDER`` of those that are families."""
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        if hasattr(module, "ORDER"):
            _ORDER[info.name] = module.ORDER
    unknown = sorted({c.family for c in _REGISTRY.values()} - set(_ORDER))
    if unknown:
        raise ValueError(f"claims name families that are not modules with an ORDER: {unknown}")


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
    """All claims, families in teaching order, registration order within a family."""
    return sorted(_REGISTRY.values(), key=lambda claim: _ORDER[claim.family])


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
