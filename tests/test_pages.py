"""No stale number on a page: the tables of docs/real_model.md are what the recorded reports
(docs/figures/real_model*.json, themselves checked in tests/test_figures.py) say, at the digits
shown."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FIGURES = DOCS / "figures"


def table_after(page: str, marker: str) -> list[list[str]]:
    """The cells of the first Markdown table after the line starting with ``marker`` (header
    and rule left out)."""
    lines = page.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(marker))
    rows = []
    for line in lines[start + 1:]:
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif rows:
            break
    return rows[2:]


def token_mean_cell(layer: dict) -> str:
    """As the command's table prints it: 3 significant digits; "< 1e-290" where every sequence is
    below the double range."""
    mean = layer["ratio_token_mean"]
    if mean is None:
        return "< 1e-290"
    below = layer["below_double_range"]
    return f"{float(mean):.3g}" + (f" ({below} of {len(layer['token_mean'])} < 1e-290)" if below else "")


def token_mean_rows(report: dict, init: str) -> dict:
    """layer -> the four variants' cells, in the report's variant order"""
    variants = [v for v in report["variants"] if v["init"] == init]
    return {l: [token_mean_cell(v["layers"][l]) for v in variants] for l in range(len(variants[0]["layers"]))}


def short(decimal: str) -> str:
    from rankcollapse.realmodel.report import _short  # the command's own 4-digit form

    return _short(decimal)


def bound_cell(entry: dict) -> str:
    if entry["log10_bound_over_observed"] is None:
        return "not representable"
    return (f"{short(entry['log10_bound_over_observed'])} (bound 10^{short(entry['log10_bound'])}, "
            f"observed 10^{short(entry['log10_observed'])}; {entry['sequences']})")


def path_cell(row: dict) -> str:
    q1, median, q3 = (f"{float(q):.3g}" for q in row["token_mean"]["quartiles"])
    exact = row["r_upper"]
    return f"{median} [{q1}, {q3}]" + (f"; exact {float(exact['mean']):.3g}" if exact["count"] else "")


# (the line before the table, the report, the initialisation shown)
TOKEN_MEAN_TABLES = [("**pretrained** — `ratio_token_mean`", "real_model", "pretrained"),
                     ("**random** — the same at BERT's random", "real_model", "random"),
                     ("**BERT-base** (random init", "real_model_bert", "random"),
                     ("**ALBERT-base** (random init", "real_model_albert", "random"),
                     ("**GPT-2 small** (random init", "real_model_gpt2", "random")]


def report(name):
    return json.loads((FIGURES / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def real_model_page():
    return (DOCS / "real_model.md").read_text()


@pytest.mark.parametrize("marker, name, init", TOKEN_MEAN_TABLES)
def test_real_model_token_mean_tables(real_model_page, marker, name, init):
    expected = token_mean_rows(report(name), init)
    rows = table_after(real_model_page, marker)
    assert rows, f"no table after {marker!r}"
    for layer, *cells in rows:
        if "-" in layer:  # a range of layers: first ... last
            first, last = map(int, layer.split("-"))
            shown = [c.split(" ... ") for c in cells]
            want = [[a, b] if a != b else [a] for a, b in zip(expected[first], expected[last])]
        else:
            shown, want = cells, expected[int(layer)]
        assert shown == want, f"docs/real_model.md, table after {marker!r}, layer {layer}: page {shown}, " \
                              f"docs/figures/{name}.json {want}"


def test_real_model_paths_table(real_model_page):
    rows = table_after(real_model_page, "Token-mean ratio: median [quartiles]")
    by = {(p["init"], p["length"]): path_cell(p) for p in report("real_model")["paths"]}
    assert [int(r[0]) for r in rows] == sorted({k for _, k in by})
    for k, pretrained, random in rows:
        assert [pretrained, random] == [by["pretrained", int(k)], by["random", int(k)]], f"paths table, length {k}"


def test_real_model_bounds_table(real_model_page):
    rows = table_after(real_model_page, "`log10(bound / observed)` (in parentheses")
    layers = report("real_model")["bounds"]["layers"]
    assert [int(r[0]) for r in rows] == [e["layer"] for e in layers]
    for (layer, *cells), entry in zip(rows, layers):
        assert cells == [bound_cell(entry[k]) for k in ("one_step", "E4", "published")], f"bounds table, layer {layer}"


def test_tables_tell_a_changed_number():
    layer = {"ratio_token_mean": "0.98611", "below_double_range": 0, "token_mean": ["1"] * 4}
    assert token_mean_cell(layer) == "0.986" and token_mean_cell({**layer, "ratio_token_mean": "0.98711"}) != "0.986"
    assert token_mean_cell({**layer, "ratio_token_mean": None}) == "< 1e-290"
    assert table_after("x\n| a | b |\n|---|---|\n| 1 | 2 |\n\n| 3 | 4 |", "x") == [["1", "2"]]
