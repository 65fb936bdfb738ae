"""The teaching site (mkdocs.yml): every docs page is in the navigation, and the site builds
with --strict (broken internal links, missing API names and bad nav entries are errors)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def built_site(tmp_path_factory) -> Path:
    """The site, built once per module with the README's command (mkdocs build --strict)."""
    pytest.importorskip("mkdocs", reason="mkdocs is in the docs extra: pip install -e '.[docs]'")
    pytest.importorskip("material", reason="mkdocs-material is in the docs extra: pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("site")
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                         cwd=ROOT, capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert run.returncode == 0, run.stderr[-4000:]
    return out


def nav_pages(nav) -> list[str]:
    pages = []
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages.extend(nav_pages(value) if isinstance(value, list) else [value])
    return pages


def test_every_page_is_in_the_nav_once():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    pages = nav_pages(config["nav"])
    on_disk = sorted(p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").glob("*.md"))
    missing = sorted(set(on_disk) - set(pages))
    assert not missing, f"docs pages missing from mkdocs.yml's nav: {missing}"
    assert sorted(pages) == on_disk, "mkdocs.yml's nav names a page twice or a page that does not exist"
    assert pages[0] == "index.md"


def test_nav_helper_sees_nested_sections():
    # a nested section must not hide its pages from the check above
    assert nav_pages([{"A": "a.md"}, {"B": [{"C": "c.md"}, "d.md"]}]) == ["a.md", "c.md", "d.md"]


def test_site_builds_strict(built_site):
    assert (built_site / "index.html").is_file()
    for page in ("single_head", "api"):
        assert (built_site / f"{page}.html").is_file()
    assert (built_site / "single_head.ipynb").is_file()
    assert (built_site / "assets" / "mathjax" / "MathJax.js").is_file()
    api = (built_site / "api.html").read_text()
    import rankcollapse
    for name in rankcollapse.__all__:  # every public name has its section
        assert f"rankcollapse.{name}</code>" in api, name
    # the docstrings are rendered, not only the headings
    assert "Pareto front" in api and "Keep doubles as doubles" not in api  # public docstrings, not private ones
