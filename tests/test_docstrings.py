"""Every docstring example of the package runs (einops style), on the installed
``rankcollapse.*`` modules: the folders ``proofs/`` and ``numerics/`` are never imported as
top-level packages of their own."""

import doctest
import importlib
import pkgutil

import pytest

# modules that need optional extras to import (they skip here with the extras' own tests)
OPTIONAL = {"torch", "transformers", "safetensors", "tokenizers", "distributed", "dask"}


def _modules():
    """Every module below the three layers (proofs and numerics live in folders of their own, so
    a walk of rankcollapse's folder alone would miss them)."""
    names, todo = [], ["rankcollapse", "rankcollapse.proofs", "rankcollapse.numerics"]
    while todo:
        name = todo.pop()
        if name in names:
            continue
        names.append(name)
        module = importlib.import_module(name)
        for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
            if info.name != "__main__":  # running it is the command line
                todo.append(f"{name}.{info.name}")
    return sorted(names)


def _import(name):
    try:
        return importlib.import_module(name)
    except ImportError as e:  # pragma: no cover - depends on the installed extras
        if e.name and e.name.split(".")[0] in OPTIONAL:
            pytest.skip(f"{name} needs the optional package {e.name}")
        raise


FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name):
    module = _import(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in finder.find(module, name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed (output above)"


def test_the_walk_finds_every_layer():
    names = _modules()
    for expected in ("rankcollapse.proofs.registry", "rankcollapse.numerics.context",
                     "rankcollapse.numerics.checks.common", "rankcollapse.cli"):
        assert expected in names
