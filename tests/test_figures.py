"""No stale figure: each docs figure's recording (docs/figures/NAME.json) is what the code
computes now, its PNG was drawn from that recording by today's plotting code, and the page shows
the same caption. The real-model and experiment figures are drawn from their commands' reports:
those are checked for the format the command writes now, and the MiniLM report against a slice
recomputed here (sequence 0, layers 0-2 of the pretrained pure-attention variant); the rest of
those runs (minutes to an hour) is not remeasured."""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rankcollapse import figures
from rankcollapse.cli import main

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# series recomputed per figure: all of them where that is fast, else a prefix (exact: the series
# come in order from one seeded generator), about 25 s in all
SERIES = {"single_head_depth": None, "path_lengths": None, "gamma_needed": 1, "skip_ratio": 2,
          "layernorm_equilibrium": 2, "erratum_threshold": None, "mlp_ratio": 1, "composite_norm": None, "tight_rate": 1}


def shown_figures() -> dict:
    """figure name -> (page, caption) for every ![caption](figures/NAME.png) in docs/*.md"""
    shown = {}
    for page in DOCS.glob("*.md"):
        for caption, name in re.findall(r"!\[([^\]]*)\]\(figures/([\w-]+)\.png\)", page.read_text()):
            shown[name] = (page.name, caption)
    return shown


def recording(name):
    return figures.load_recording(DOCS / "figures" / f"{name}.json", name)


def close(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a == b or (a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return isinstance(b, list | tuple) and len(a) == len(b) and all(map(close, a, b))
    return a == b


ALL = [*figures.FIGURES, *figures.REPORTS]


def report(name):
    return figures.load_report(DOCS / "figures", name)


def caption_and_data(name):
    if name in figures.REPORTS:
        data = report(name)
        return figures.REPORTS[name].caption(data), data
    data = recording(name)
    return data["caption"], data


def draw(name, data, path):
    figures.draw_report(name, data, path) if name in figures.REPORTS else figures.FIGURES[name].draw(data, path)


def test_every_figure_shown_is_made_by_the_code():
    shown = shown_figures()
    assert set(ALL) <= set(shown), "a figure no page shows"
    assert set(shown) <= set(ALL), "a page shows a figure that `rankcollapse figures` does not draw"
    assert set(SERIES) == set(figures.FIGURES)


@pytest.mark.parametrize("name", ALL)
def test_png_and_page_show_the_recording(name):
    caption, data = caption_and_data(name)  # a report in an older format than its command writes fails here
    page, shown = shown_figures()[name]
    assert shown == caption, f"docs/{page} captions {name} {shown!r}; the recording says {caption!r}"
    text = Image.open(DOCS / "figures" / f"{name}.png").text
    assert text.get("Title") == caption
    assert text.get("Description") == f"rankcollapse-figure sha256 {figures.digest(data)}", \
        f"docs/figures/{name}.png was not drawn from its recording: run `rankcollapse figures --only {name}`"


@pytest.mark.parametrize("name", list(figures.REPORTS))
def test_png_is_what_the_plotting_code_draws_now(name, tmp_path):
    """Pixel for pixel (Agg is deterministic for one matplotlib version): a changed plotting
    function, or a PNG left from an older one, fails."""
    import matplotlib

    png = DOCS / "figures" / f"{name}.png"
    drawn_with = Image.open(png).text.get("Software", "")
    if f"version{matplotlib.__version__}," not in drawn_with:
        pytest.skip(f"{png.name} was drawn with {drawn_with or 'an unknown matplotlib'}; this is {matplotlib.__version__}")
    draw(name, caption_and_data(name)[1], tmp_path / "now.png")
    assert np.array_equal(np.asarray(Image.open(png).convert("RGBA")), np.asarray(Image.open(tmp_path / "now.png").convert("RGBA"))), \
        f"docs/figures/{name}.png is not what the plotting code draws now: run `rankcollapse figures --only {name}`"


def test_reports_are_in_the_format_their_commands_write(tmp_path, capsys):
    from rankcollapse.experiments.report import FORMAT as EXPERIMENT
    from rankcollapse.realmodel.report import FORMAT as REALMODEL

    for name, r in figures.REPORTS.items():
        assert report(name)["format"] == (REALMODEL if name.startswith("real_model") else EXPERIMENT)
    old = {**report("real_model_gpt2"), "format": "rankcollapse-realmodel/0"}
    (tmp_path / "real_model_gpt2.json").write_text(json.dumps(old))
    assert main(["figures", "--data", str(tmp_path), "--out", str(tmp_path), "--only", "real_model_gpt2"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "real_model_gpt2.json" in err and "'rankcollapse-realmodel/0'" in err and REALMODEL in err
    partial = {key: value for key, value in report("experiment_sort").items() if key != "results"}
    (tmp_path / "experiment_sort.json").write_text(json.dumps(partial))
    assert main(["figures", "--data", str(tmp_path), "--out", str(tmp_path), "--only", "experiment_sort"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "experiment_sort.json" in err and "missing field(s) 'results'" in err and "Traceback" not in err
    assert not list(tmp_path.glob("*.png"))


def test_real_model_report_agrees_with_a_slice_measured_now():
    """Sequence 0, layers 0-2, pretrained pure attention, at the report's model, tokens and seed
    (about 3 s): the recorded per-sequence ratios must be what the code measures now."""
    from rankcollapse.numerics import checkpoint

    data = report("real_model")
    assert data["model"] == checkpoint.MINILM_NAME
    try:
        checkpoint.minilm_dir()
    except checkpoint.ModelUnavailable:
        pytest.skip(f"pretrained weights missing ({checkpoint.INSTALL_COMMAND})")
    (variant,) = [v for v in data["variants"] if v["name"] == "pure-attention" and v["init"] == "pretrained"]
    recorded = [float(layer["token_mean"][0]) for layer in variant["layers"][:3]]
    now = figures.realmodel_slice(data, layers=2)
    assert close(now, recorded), f"docs/figures/real_model.json is stale (now {now}, recorded {recorded}): " \
                                 f"record it again with {figures.REPORTS['real_model'].command}"


@pytest.mark.parametrize("name", list(figures.FIGURES))
def test_recording_is_what_the_code_computes(name):
    data = recording(name)
    k = SERIES[name]
    now = figures.FIGURES[name].compute(k)
    assert now["caption"] == data["caption"]
    assert len(now["series"]) == (len(data["series"]) if k is None else k)
    assert close(now["series"], data["series"][:k]), \
        f"docs/figures/{name}.json is stale: run `rankcollapse figures --recompute --only {name}`"


def test_close_tells_numbers_apart():
    assert close({"a": [1.0, None, "x"]}, {"a": [1.0 + 1e-12, None, "x"]})
    assert not close({"a": [1.0]}, {"a": [1.001]}) and not close([1.0], [1.0, 2.0]) and not close([None], [1.0])


def test_figures_draws_from_the_recording(tmp_path):
    assert main(["figures", "--out", str(tmp_path), "--data", str(DOCS / "figures"), "--only", "path_lengths"]) == 0
    text = Image.open(tmp_path / "path_lengths.png").text
    assert text["Description"] == f"rankcollapse-figure sha256 {figures.digest(recording('path_lengths'))}"


def test_bad_recording_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "path_lengths.json").write_text(json.dumps({"format": figures.FORMAT, "name": "path_lengths"}))
    (tmp_path / "single_head_depth.json").write_text("{")
    for name, message in (("path_lengths", "missing field 'caption'"), ("single_head_depth", "not a readable JSON"),
                          ("skip_ratio", "no recorded data for figure skip_ratio")):
        assert main(["figures", "--out", str(tmp_path), "--only", name]) == 2
        err = " ".join(capsys.readouterr().err.split())  # rich may wrap long paths
        assert message in err and str(tmp_path) in err and "Traceback" not in err
    assert not list(tmp_path.glob("*.png"))  # nothing drawn
