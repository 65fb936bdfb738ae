"""The single-head page as a classroom notebook (docs_hooks.notebook): it executes, and every
cell shows what the page's doctest expects."""

import doctest
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs_hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ANSI = re.compile(r"\x1b\[[0-9;]*m")  # rich colours its output in a notebook


def text_of(outputs) -> str:
    """What a cell shows, as text without terminal colours."""
    parts = []
    for out in outputs:
        if out["output_type"] == "stream":
            parts.append(out["text"])
        elif out["output_type"] in ("execute_result", "display_data"):
            parts.append(out["data"].get("text/plain", "") + "\n")
    return ANSI.sub("", "".join(parts))


@pytest.mark.parametrize("page", hooks().NOTEBOOKS)
def test_page_runs_as_notebook(page):
    pytest.importorskip("jupytext", reason="jupytext is in the docs extra: pip install -e '.[docs]'")
    nbclient = pytest.importorskip("nbclient", reason="nbclient is in the docs extra: pip install -e '.[docs]'")
    pytest.importorskip("ipykernel", reason="ipykernel is in the docs extra: pip install -e '.[docs]'")
    nb = hooks().notebook(ROOT / "docs" / page)
    code = [c for c in nb.cells if c.cell_type == "code"]
    expected = [c for c in code if "expected" in c.metadata]
    # the page's examples, all of them, and no doctest prompt left for the kernel to choke on
    examples = doctest.DocTestParser().get_examples((ROOT / "docs" / page).read_text())
    assert len(examples) > 10
    assert "\n".join(c.source for c in code) == "".join(e.source for e in examples).rstrip("\n")
    assert not any(line.startswith((">>>", "...")) for c in code for line in c.source.splitlines())
    assert len(expected) == sum(1 for e in examples if e.want)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    checker = doctest.OutputChecker()
    flags = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
    for cell in expected:
        got = text_of(cell.outputs)
        assert checker.check_output(cell.metadata["expected"], got, flags), (cell.source, cell.metadata["expected"], got)
