"""No stale number on a page: the tables of docs/real_model.md and docs/experiments.md are what
the recorded reports (docs/figures/*.json, themselves checked in tests/test_figures.py) say; the
verdicts of README.md and the docs pages what the recorded quick and default verify runs
(docs/reports/verify_quick.json, verify_default.json) say, themselves checked against verify now
on the claims that are cheap to re-run; docs/performance.md's deep_single_head tables what
check_network computes now; all at the digits shown. Every time on a page is a dated
measurement."""

import json
from decimal import Decimal
import re
from pathlib import Path

import pytest

from rankcollapse import figures

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
    from long doubles or balls); "not computed" where no sequence has a value there, and how many
    were not (below the long double's range, or a ball wider than the 17 digits reported)."""
    mean = layer["ratio_token_mean"]
    if mean is None:
        return "not computed"
    below = layer["below_double_range"]
    shown = f"{float(mean):.3g}" if abs(Decimal(mean)) > Decimal("1e-290") or Decimal(mean) == 0 else f"{Decimal(mean):.3g}"
    return shown + (f" ({below} of {len(layer['token_mean'])} not computed)" if below else "")


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
    assert token_mean_cell({**layer, "ratio_token_mean": None}) == "not computed"
    assert table_after("x\n| a | b |\n|---|---|\n| 1 | 2 |\n\n| 3 | 4 |", "x") == [["1", "2"]]
    assert table_after("| a | b |\n|---|---|\n| 1 | 2 |", "| a |") == [["1", "2"]]


# -- verdicts: the README's claim table and sample output, the pages' verdict tables ----------
# docs/reports/verify_quick.json is `rankcollapse verify --suite quick --seed 0 --json ...`;
# every verdict, example count and worst ratio a page quotes from the quick suite is checked
# against it, and it against what verify computes now for the claims below (about 10 s of CPU;
# the others, E1, E2, E3, thm2.2, cor2.3, cor3.2, sec3.3, thm2.2.causal, LB2, G2, take 1.6-11 s
# each and are not re-run here). The default suite: below.
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


# docs/reports/verify_default.json is `rankcollapse verify --suite default --seed 0 --jobs 2 --json
# docs/reports/verify_default.json` (about 7 minutes on 2 cores); only its cheapest claims are
# re-run here (about 2 s of CPU), the pages' default columns are compared with the recording below.
DEFAULT_RECHECKED = ["N1", "N2", "erratum.nohyp", "wu2024"]


def test_recorded_default_report_is_what_verify_computes_now(tmp_path):
    from rankcollapse import proofs
    from rankcollapse.verify import report_json, run_verify

    report = json.loads(DEFAULT.read_text())
    assert (report["format"], report["suite"], report["seed"]) == ("rankcollapse-report/1", "default", 0)
    recorded = {row["id"]: row for row in report["claims"]}
    assert list(recorded) == [c.id for c in proofs.all_claims()], "docs/reports/verify_default.json lacks a claim: record it again"
    for row in report_json(run_verify("default", 0, tmp_path, only=DEFAULT_RECHECKED, jobs=1), "default", 0)["claims"]:
        assert same_row(row, recorded[row["id"]]), \
            f"{row['id']}: verify computes {row}, docs/reports/verify_default.json says {recorded[row['id']]}: record it again " \
            "(rankcollapse verify --suite default --seed 0 --jobs 2 --json docs/reports/verify_default.json)"


def test_readme_record_commands():
    """The README's commands that refresh the recordings write the files these tests read, with
    the suite and seed the recordings hold, and parse as `rankcollapse verify` options."""
    from rankcollapse.cli import build_parser

    lines = (ROOT / "README.md").read_text().splitlines()
    start = lines.index("<!-- record-commands -->") + 1
    commands = [line.split() for line in lines[start:start + 2]]
    for command, path in zip(commands, (QUICK, DEFAULT), strict=True):
        report = json.loads(path.read_text())
        args = build_parser().parse_args(command[1:])
        assert command[0] == "rankcollapse" and (args.command, args.suite, args.seed) == ("verify", report["suite"], report["seed"])
        assert ROOT / args.json == path, f"README's record command writes {args.json}, the tests read {path}"


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


VERDICT_TABLE = "| claim | kind | quick (seed 0) | default (seed 0) |"
DEFAULT = DOCS / "reports" / "verify_default.json"


@pytest.fixture(scope="module")
def recorded():
    """suite -> claim id -> the recorded row"""
    return {suite: {row["id"]: row for row in json.loads(path.read_text())["claims"]}
            for suite, path in (("quick", QUICK), ("default", DEFAULT))}


def step_row(claim_row: dict, step: str) -> dict:
    """The verdict and example count of one step's spot-check (``E1:Step 4``), read from its
    claim's recorded detail: the claim's checks' results in order, "what: holds 18, vacuous 2"."""
    from rankcollapse import proofs
    from rankcollapse.numerics.checks import checks_for

    checks = checks_for(proofs.get(claim_row["id"]))
    k = [c.name for c in checks].index(step)
    detail = claim_row["detail"]
    start = detail.index(checks[k].what + ": ") + len(checks[k].what) + 2
    end = detail.index("; " + checks[k + 1].what) if k + 1 < len(checks) else len(detail)
    counts = {name: int(n) for name, n in re.findall(r"([a-z ]+?) (\d+)(?:, |$)", detail[start:end])}
    verdict = next((v for v in ("violated", "inconclusive") if counts.get(v)), "holds" if counts.get("holds") else None)
    return {"kind": "proof step", "verdict": verdict, "examples": sum(counts.values()), "worst_ratio": None}


def test_step_row_reads_its_check():
    row = {"id": "E1", "detail": "r(SA(X)) against the one-step bound with the actual attention: holds 40; "
           "||Q R||_inf against c ||R||_inf and ||Q R||_1 against n c pi_max ||R||_1, actual attention: holds 17, "
           "vacuous 2, inconclusive 1; ||Q R W_V|| in each norm against Step 4 x ||W_V||, then the geometric mean: holds 18"}
    assert step_row(row, "E1:Step 4")["verdict"] == "inconclusive" and step_row(row, "E1:Step 4")["examples"] == 20
    assert (step_row(row, "E1:Step 5")["verdict"], step_row(row, "E1:Step 5")["examples"]) == ("holds", 18)


def check_cell(where: str, cell: str, row: dict):
    """A verdict cell: the verdict, the example count, the worst ratio (for thm2.1 "largest
    difference/tolerance") and for sec3.3 the rho found, each where the cell shows it, at the
    digits shown; and no time (the recording has none: times vary with load)."""
    assert cell.strip("*").split("*")[0].split(",")[0] == row["verdict"], f"{where}: {cell!r}, recorded: {row['verdict']}"
    examples = re.search(r"(\d+) examples", cell)
    assert examples is None or int(examples[1]) == row["examples"], f"{where}: {cell!r}, recorded: {row['examples']} examples"
    worst = re.search(r"(?:worst ratio|largest difference/tolerance) (\d(?:[\d.e+-]*\d)?)", cell)
    assert worst is None or (row["worst_ratio"] is not None and agrees(worst[1], float(row["worst_ratio"]))), \
        f"{where}: {cell!r}, recorded: worst ratio {row['worst_ratio']}"
    rho = re.search(r"rho = (\d(?:[\d.]*\d)?)", cell)
    assert rho is None or agrees(rho[1], float(re.search(r"lhs in \[([\d.e+-]+)", row["detail"])[1])), \
        f"{where}: {cell!r}, recorded: {row['detail']}"
    assert not re.search(r"\d s\b", cell), f"{where}: {cell!r} shows a time"


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md") if "| claim | kind | quick" in p.read_text()))
def test_pages_verdict_tables(page, recorded):
    """Both columns, against docs/reports/verify_quick.json and verify_default.json; a proof
    step's row (``E1:Step 4``) against its spot-check in the claim's detail."""
    rows = table_after((DOCS / page).read_text(), "| claim | kind | quick")
    header = next(line for line in (DOCS / page).read_text().splitlines() if line.startswith("| claim | kind | quick"))
    assert header == VERDICT_TABLE, f"docs/{page}: verdict table header {header!r}, expected {VERDICT_TABLE!r}"
    assert rows, f"docs/{page}: no row in its verdict table"
    for cid, kind, *cells in rows:
        cid = cid.strip("`")
        for suite, cell in zip(("quick", "default"), cells, strict=True):
            claim = recorded[suite][cid.split(":")[0]]
            row = step_row(claim, cid) if ":" in cid else claim
            assert kind == row["kind"], f"docs/{page}, {cid}: kind {kind!r}, recorded {row['kind']!r}"
            check_cell(f"docs/{page}, {cid}, {suite} column", cell, row)


# -- docs/experiments.md: the tables of the recorded training runs ---------------------------
def shown_agrees(cell: str, value: float) -> bool:
    return agrees(cell.strip("*"), value)


PATH_TABLES = [("Paper size (`rankcollapse experiment paths --task sort --jobs 1", "experiment_sort"),
               ("Trained as `run_sort.sh` trains", "experiment_sort_run_sh"),
               ("Paper size (`rankcollapse experiment paths --task convex-hull", "experiment_convex_hull"),
               ("pass (`rankcollapse experiment paths --task convex-hull --quick", "experiment_convex_hull_quick"),
               ("Paper size on the shipped text", "experiment_memorization")]


def baselines(page: str, marker: str) -> str:
    """The "Whole model X; majority per position Y; uniform Z" sentence after the table."""
    after = page[page.index(marker):]
    return re.search(r"Whole model (\d[\d.]*\d); majority per position (\d[\d.]*\d); uniform (\d[\d.]*\d)", after).groups()


@pytest.mark.parametrize("marker, name", PATH_TABLES)
def test_experiment_paths_tables(marker, name):
    """Accuracy "mean ± std" over the draws (3 decimals, as the command prints them; length 0 is one
    number, the same for every draw: its std is 0 up to the rounding of np.std), the token-mean
    residual at the path end, and the whole model and chance levels quoted after the table."""
    page = (DOCS / "experiments.md").read_text()
    rows = table_after(page, marker)
    results = report(name)["results"]
    by = {(r["n_paths"], r["length"]): r for r in results["paths"]}
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
    shown = baselines(page, marker)
    recorded = (results["full_model"]["accuracy"], results["chance"]["majority"], results["chance"]["uniform"])
    assert shown == tuple(f"{x:.3f}" for x in recorded), f"{name}: page {shown}, report {recorded}"


def recorded_times(name: str) -> tuple:
    """(wall, training, training CPU) seconds of a recorded run; the circle records each training
    (with its trajectory) and the run's wall time is their sum up to start-up; older reports
    have no training CPU (None)."""
    data = report(name)
    if data["experiment"] == "circle":
        return sum(v["seconds"] for v in data["results"]["variants"]), None, None
    seconds = data["results"]["seconds"]
    return seconds["total"], seconds["training"], seconds.get("training_cpu")


def test_experiment_times_are_the_recordings():
    """Each recorded run is in the "Times" table, with the wall, training and training-CPU seconds
    its report records (whole seconds); "not recorded" only where the report has none."""
    rows = table_after((DOCS / "experiments.md").read_text(), "| run | report |")
    named = {re.fullmatch(r"`(experiment_\w+)\.json`", row[1])[1]: row for row in rows}
    assert set(named) == {n for n in figures.REPORTS if n.startswith("experiment_")}
    for name, (_, _, *cells) in named.items():
        for cell, value in zip(cells, recorded_times(name)):
            assert cell == ("not recorded" if value is None else f"{value:.0f} s"), f"{name}: page {cell}, report {value}"


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


# -- times and measured figures in prose ---------------------------------------------------
# A time or a speed ratio on a page is either a recorded field that a test above compares, or a
# measurement that says where and when it was taken: its paragraph (for a table, the table and
# the paragraph that introduces it) names the date, "2026-12-01", next to the hardware and load.
TIMED_PAGES = ["README.md", *(f"docs/{p.name}" for p in sorted(DOCS.glob("*.md")))]
TIME = re.compile(r"\b\d[\d.,]*(?:\s*-\s*\d[\d.,]*)?\s*(?:CPU |wall )?(?:µs|ms|s|seconds?|minutes?|min|hours?|GB|MB)\b(?!-)"
                  r"|\b\d[\d.]*(?:\s*-\s*\d[\d.]*)?x (?:faster|slower|the)|\b\d[\d.]*x\b(?=[;,.)]| on| at)"
                  r"|\b(?:a|one) (?:fifth|tenth|half) of a second|\bfew (?:milli)?seconds|\ba minute|\bminutes\b|\bhours?\b")
DATE = re.compile(r"\b2026-\d\d-\d\d\b")
# not measurements: limits of Hypothesis and of the toolkit, stated as such
NOT_MEASURED = ["10 s of wall time", "5 minutes\n  of wall time", "4x the start precision"]


def prose_blocks(text: str) -> list[str]:
    """Paragraphs outside code blocks and math, inline code and inline math blanked; a table, and
    whatever follows a paragraph ending in a colon, joins the paragraph before it."""
    text = re.sub(r"```.*?```|\$\$.*?\$\$", "", text, flags=re.S)
    blocks = []
    for block in re.split(r"\n\s*\n", text):
        lines = [line for line in block.splitlines() if not line.startswith("    ") or line.lstrip().startswith(("*", "-"))]
        block = re.sub(r"`[^`]*`|\$[^$]*\$", "", "\n".join(lines))
        if blocks and (block.lstrip().startswith("|") or blocks[-1].rstrip().endswith(":")):
            blocks[-1] += "\n" + block
        elif block.strip():
            blocks.append(block)
    return blocks


def undated_times(text: str) -> list[str]:
    for phrase in NOT_MEASURED:
        text = text.replace(phrase, "")
    found = []
    for block in prose_blocks(text):
        if not DATE.search(block):
            lines = block.splitlines()
            # a table's header naming seconds: "| total s |", "| wall s, load ~12 |"
            headers = [cell for line, rule in zip(lines, lines[1:]) if rule.startswith("|---") for cell in line.split("|")]
            found += [m[0] for m in TIME.finditer(block)] + [c.strip() for c in headers if re.search(r"\b(?:s|ms|seconds)\b", c)]
            found = [f"{f!r} in: {block.strip()[:100]!r}" if " in: " not in f else f for f in found]
    return found


def test_undated_times_finds_them():
    assert undated_times("It takes about 45 s on 2 cores.") and undated_times("arb is 25x faster")
    assert undated_times("all 32 add about 700 CPU s") and undated_times("5 - 13 ms per layer")
    assert not undated_times("It takes about 45 s on 2 cores (measured 2026-12-01, load 2).")
    assert not undated_times("    $ rankcollapse check x.json\n    x: 0.01 s") and not undated_times("$2 s\\, x$ and 4 heads")
    assert undated_times("Load 0.6.\n\n| a | s |\n|---|---|\n| 1 | 0.3 s |")
    assert undated_times("Load 0.6.\n\n| depth | total s |\n|---|---:|\n| 1 | 0.3 |")
    assert not undated_times("Measured 2026-11-22, load 1:\n\n* one in 3 s\n* two in 4 s")
    assert not undated_times("Measured 2026-11-22, load 0.6:\n\n| a | s |\n|---|---|\n| 1 | 0.3 s |")


@pytest.mark.parametrize("page", TIMED_PAGES)
def test_times_are_dated_measurements(page):
    found = undated_times((ROOT / page).read_text())
    assert not found, f"{page}: a time with no date of measurement (or make it a recorded, tested field):\n" + "\n".join(found)


def test_cluster_page_counts_the_registry():
    """docs/cluster.md's claim and task counts are the registry's (a task per claim's symbolic
    steps, one per numeric search)."""
    from rankcollapse import proofs
    from rankcollapse.numerics.checks import checks_for

    claims, tasks = map(int, re.search(r"The registry has (\d+) claims and (\d+) tasks", (DOCS / "cluster.md").read_text()).groups())
    assert (claims, tasks) == (len(proofs.all_claims()), sum(1 + len(checks_for(c)) for c in proofs.all_claims()))


# -- docs/performance.md: the numbers that are not times are what the code computes now ------
@pytest.fixture(scope="module")
def deep_reports():
    """check_network on deep_single_head at every depth of table (b) (about 2 s of CPU)."""
    from rankcollapse.numerics.certify import check_network
    from rankcollapse.numerics.examples import deep_single_head

    rows = table_after((DOCS / "performance.md").read_text(), "| depth | bits | digits |")
    return {int(r[0]): (deep_single_head(int(r[0])), check_network(*(lambda c: (c.net, c.X))(deep_single_head(int(r[0])))))
            for r in rows}


def test_performance_depth_table(deep_reports):
    """Table (b)'s bits, digits, whole-matrix bits and verdicts (computed as
    benchmarks/bench_backends.py does); its times are dated measurements."""
    from rankcollapse.numerics.checks.common import scale_log10
    from rankcollapse.numerics.exact import log10_abs
    from rankcollapse.numerics.verdict import working_precision

    rows = table_after((DOCS / "performance.md").read_text(), "| depth | bits | digits |")
    for depth, bits, digits, whole, verdicts, *_times in rows:
        case, report = deep_reports[int(depth)]
        smallest = -min(log10_abs(v.rhs[0]) for r in report.layers[1:] for v in r.verdicts.values() if v.rhs[0] > 0)
        now = [report.bits, round(smallest), working_precision(-smallest, scale_log10(case.X)),
               "/".join(sorted({v.verdict for r in report.layers[1:] for v in r.verdicts.values()}))]
        assert [int(bits.replace(" ", "")), int(digits.replace(" ", "")), int(whole.replace(" ", "")), verdicts] == now, \
            f"docs/performance.md table (b), depth {depth}: page {[bits, digits, whole, verdicts]}, now {now}"
    readme = (ROOT / "README.md").read_text()
    assert f"(1e-{round(smallest)} at depth {depth})" in readme, "README's deepest residual is not table (b)'s last row"


def test_performance_layer_table(deep_reports):
    """check_network(deep_single_head(10)) per layer: log10 of the upper ends, 1 decimal, and the verdicts."""
    from rankcollapse.numerics.exact import log10_abs

    rows = table_after((DOCS / "performance.md").read_text(), "| layer | r(X^l) <= |")
    layers = deep_reports[10][1].layers
    assert [int(r[0]) for r in rows] == list(range(1, len(layers)))
    for layer, r, *cells in rows:
        entry = layers[int(layer)]
        now = [f"{log10_abs(entry.residual.upper):.1f}"] + [f"{log10_abs(entry.verdicts[name].rhs[1]):.1f} {entry.verdicts[name].verdict}"
                                                             for name in ("one_step", "E4", "published")]
        assert [r, *cells] == now, f"docs/performance.md, deep_single_head(10) layer {layer}: page {[r, *cells]}, now {now}"


def test_gradients_page_worst_ratio(recorded):
    shown = re.search(r"its worst ratio is ([\d.]+) in both\s+recorded runs", (DOCS / "gradients.md").read_text())[1]
    assert all(agrees(shown, float(recorded[suite]["G2"]["worst_ratio"])) for suite in recorded), f"docs/gradients.md: G2 {shown}"
