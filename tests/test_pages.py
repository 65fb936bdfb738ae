"""No stale number on a page: the tables of docs/real_model.md and docs/experiments.md are what
the recorded reports (docs/figures/*.json, themselves checked in tests/test_figures.py) say, and
the verdicts of README.md and the docs pages what the recorded quick verify run
(docs/reports/verify_quick.json) says, itself checked against verify now; at the digits shown."""

import json
from decimal import Decimal
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FIGURES = DOCS / "figures"


def table_after(page: str, marker: str) -> list[list[str]]:
    """The cells of the first Markdown table after the line starting with ``marker``, or of the
    table whose header that line is (header and rule left out)."""
    lines = page.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(marker))
    rows = []
    for line in lines[start + (not marker.startswith("|")):]:
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif rows:
            break
    return rows[2:]


def token_mean_cell(layer: dict) -> str:
    """3 significant digits of the mean (exact decimals below the double range, where it comes
    from balls); "< 1e-290" where no sequence has a value there, and how many were not computed."""
    mean = layer["ratio_token_mean"]
    if mean is None:
        return "< 1e-290"
    below = layer["below_double_range"]
    shown = f"{float(mean):.3g}" if abs(Decimal(mean)) > Decimal("1e-290") or Decimal(mean) == 0 else f"{Decimal(mean):.3g}"
    return shown + (f" ({below} of {len(layer['token_mean'])} < 1e-290, not computed)" if below else "")


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
                     ("**GPT-2 small** (random init", "real_model_gpt2", "random"),
                     ("**XLNet-base** (random init", "real_model_xlnet", "random"),
                     ("**RoBERTa-base** (random init", "real_model_roberta", "random"),
                     ("**DistilBERT** (random init", "real_model_distilbert", "random")]


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
    assert table_after("| a | b |\n|---|---|\n| 1 | 2 |", "| a |") == [["1", "2"]]


# -- verdicts: the README's claim table and sample output, the pages' verdict tables ----------
# docs/reports/verify_quick.json is `rankcollapse verify --suite quick --seed 0 --json ...`;
# every verdict, example count and worst ratio a page quotes from the quick suite is checked
# against it, and it against what verify computes now for the claims below (about 10 s of CPU;
# the others, E1, E2, E3, thm2.2, cor2.3, cor3.2, sec3.3, thm2.2.causal, LB2, G2, take 1.6-11 s
# each and are not re-run here). Times and the default suite's columns are not rechecked.
QUICK = DOCS / "reports" / "verify_quick.json"
RECHECKED = ["N1", "N2", "N3", "E4", "thm2.1", "E5", "erratum", "erratum.nohyp", "M1", "M2", "wu2024", "LB1", "G1"]


@pytest.fixture(scope="module")
def quick():
    return {row["id"]: row for row in json.loads(QUICK.read_text())["claims"]}


def same_row(now: dict, recorded: dict) -> bool:
    """Equal rows; a saved counterexample is compared by file name (the folder is the run's)."""
    name = lambda row: row["counterexample"] and Path(row["counterexample"]).name  # noqa: E731
    return {**now, "counterexample": name(now)} == {**recorded, "counterexample": name(recorded)}


def test_recorded_quick_report_is_what_verify_computes_now(quick, quick_verify):
    from rankcollapse import proofs

    report = json.loads(QUICK.read_text())
    assert (report["format"], report["suite"], report["seed"]) == ("rankcollapse-report/1", "quick", 0)
    assert list(quick) == [c.id for c in proofs.all_claims()], "docs/reports/verify_quick.json lacks a claim: record it again"
    for row in quick_verify.report(RECHECKED)["claims"]:
        assert same_row(row, quick[row["id"]]), \
            f"{row['id']}: verify computes {row}, docs/reports/verify_quick.json says {quick[row['id']]}: record it again " \
            "(rankcollapse verify --suite quick --seed 0 --json docs/reports/verify_quick.json)"


def agrees(shown: str, value: float) -> bool:
    """``shown`` is ``value`` at the significant digits shown ("0.50" is 2 digits: 0.495 .. 0.505)."""
    digits = len(re.sub(r"^0*\.?0*", "", re.sub(r"e.*$", "", shown)).replace(".", "")) or 1
    return float(shown) == float(f"{value:.{digits}g}")


def test_agrees_tells_digits_apart():
    assert agrees("0.50", 0.4999) and agrees("0.5", 0.52) and not agrees("0.50", 0.52) and agrees("1.552e+16", 1.5518e16)
    assert agrees("0.0033", 0.00331) and not agrees("0.0033", 0.0052) and agrees("1", 0.99999999)


def test_readme_claim_table(quick):
    from rankcollapse import proofs

    readme = (ROOT / "README.md").read_text()
    rows = table_after(readme, "## The claims")
    ids = [r[0].strip("`") for r in rows]
    assert sorted(ids) == sorted(c.id for c in proofs.all_claims()), "README's claim table is not the registry"
    for (cid, kind, title, verdict), claim in zip(rows, map(proofs.get, ids)):
        # the README may add a citation after the registry's title
        assert kind == claim.kind and title.replace("`", "").startswith(claim.title), f"README row {cid}: {kind}, {title!r}"
        assert verdict.split(" —")[0] == quick[claim.id]["verdict"], f"README says {cid} {verdict!r}; verify: {quick[claim.id]['verdict']}"


def test_readme_sample_output(quick):
    readme = (ROOT / "README.md").read_text()
    block = readme[readme.index("    $ rankcollapse verify --suite quick"):]
    block = block[:block.index("\n\n")]
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in block.splitlines() if line.strip().startswith("│")]
    assert len(rows) >= 5
    for cid, kind, verdict, examples, worst, *_ in rows:
        row = quick[cid]
        assert (kind, verdict, int(examples)) == (row["kind"], row["verdict"], row["examples"]), f"README sample, {cid}"
        assert (worst == "-") if row["worst_ratio"] is None else f"{float(row['worst_ratio']):.4g}" == worst, f"README sample, {cid}: {worst}"
    for line in block.splitlines():
        if "counterexample saved to" in line:
            assert Path(quick[line.split(":")[0].strip()]["counterexample"]).name in line


VERDICT_TABLE = "| claim | kind | quick (seed 0) |"


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md") if VERDICT_TABLE in p.read_text()))
def test_pages_verdict_tables(page, quick):
    """The quick column: the verdict, the example count, the worst ratio (for thm2.1 "largest
    difference/tolerance") and for sec3.3 the rho found, at the digits shown."""
    rows = table_after((DOCS / page).read_text(), VERDICT_TABLE)
    claims = [r for r in rows if r[0].strip("`") in quick]
    assert claims, f"docs/{page}: no claim in its verdict table"
    for cid, kind, cell, _default in claims:
        row = quick[cid.strip("`")]
        assert kind == row["kind"]
        assert cell.strip("*").split("*")[0].split(",")[0] == row["verdict"], f"docs/{page}, {cid}: {cell!r}, verify: {row['verdict']}"
        examples = re.search(r"(\d+) examples", cell)
        assert examples is None or int(examples[1]) == row["examples"], f"docs/{page}, {cid}: {cell!r}, verify: {row['examples']} examples"
        worst = re.search(r"(?:worst ratio|largest difference/tolerance) ([\d.e+-]+\d)", cell)
        assert worst is None or agrees(worst[1], float(row["worst_ratio"])), \
            f"docs/{page}, {cid}: {cell!r}, verify: worst ratio {row['worst_ratio']}"
        rho = re.search(r"rho = ([\d.]+\d)", cell)
        assert rho is None or agrees(rho[1], float(re.search(r"lhs in \[([\d.e+-]+)", row["detail"])[1])), \
            f"docs/{page}, {cid}: {cell!r}, verify: {row['detail']}"


# -- docs/experiments.md: the tables of the recorded training runs ---------------------------
def shown_agrees(cell: str, value: float) -> bool:
    return agrees(cell.strip("*"), value)


@pytest.mark.parametrize("marker, name", [("Paper size (`rankcollapse experiment paths --task sort", "experiment_sort"),
                                          ("Paper size (`rankcollapse experiment paths --task convex-hull", "experiment_convex_hull"),
                                          ("classifier-dropout fix, so it says nothing about the paper's numbers", "experiment_convex_hull_quick"),
                                          ("Paper size on the shipped text", "experiment_memorization")])
def test_experiment_paths_tables(marker, name):
    """Accuracy "mean ± std" over the draws (3 decimals, as the command prints them; length 0 is one
    number, the same for every draw: its std is 0 up to the rounding of np.std) and the token-mean
    residual at the path end."""
    rows = table_after((DOCS / "experiments.md").read_text(), marker)
    results = report(name)["results"]["paths"]
    by = {(r["n_paths"], r["length"]): r for r in results}
    assert rows
    for label, *cells in rows:
        m = int(label.split("(")[1].split()[0]) if "(" in label and label.startswith("residual") else \
            min(n for n, _ in by) if label.startswith("residual") else int(label.split()[0])
        for k, cell in enumerate(cells):
            r = by[m, k]
            if label.startswith("residual"):
                assert shown_agrees(cell, r["residual_token_mean"][-1]), f"{name}, {label}, length {k}: {cell}"
            else:
                want = f"{r['accuracy_mean']:.3f}" + (f" ± {r['accuracy_std']:.3f}" if k else "")
                assert cell == want and (k or r["accuracy_std"] < 1e-12), f"{name}, {label}, length {k}: page {cell}, report {want}"


def test_experiment_circle_table():
    rows = table_after((DOCS / "experiments.md").read_text(), "| variant | seed | distance at step 150 |")
    runs = {(v["variant"], v["seed"]): v for v in report("experiment_circle")["results"]["variants"]}
    assert len(rows) == len(runs)
    for variant, seed, middle, last, residual, loss in rows:
        v = runs[variant, int(seed)]
        gap = v["token_gap"]
        for cell, value in ((middle, gap[len(gap) // 2]), (last, gap[-1]), (residual, v["residual_token_mean"][-1]),
                            (loss, v["train_loss"][-1] / v["zero_predictor_loss"])):
            assert shown_agrees(cell, value), f"circle, {variant} seed {seed}: page {cell}, report {value}"
