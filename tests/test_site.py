"""The teaching site (mkdocs.yml): every docs page is in the navigation, the site builds with
--strict (broken internal links, missing API names and bad nav entries are errors), and every
page, opened in headless Chromium, shows typeset math, loads its figures and resolves its links
without errors."""

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML comes with the docs extra: pip install -e '.[docs]'")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def built_site(tmp_path_factory) -> Path:
    """The site, built once per module with the README's command (mkdocs build --strict)."""
    pytest.importorskip("mkdocs", reason="mkdocs is in the docs extra: pip install -e '.[docs]'")
    pytest.importorskip("material", reason="mkdocs-material is in the docs extra: pip install -e '.[docs]'")
    lines = (ROOT / "README.md").read_text().splitlines()
    command = lines[lines.index("<!-- docs-command -->") + 1].split("&&")[-1].split()
    assert command[:3] == ["mkdocs", "build", "--strict"], command  # README's build command
    out = tmp_path_factory.mktemp("site")
    run = subprocess.run([sys.executable, "-m", *command, "--site-dir", str(out)],
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


# -- the built site in a real browser (Debian's chromium + chromedriver, driven by selenium) ---
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")

def site_pages() -> list[str]:
    """Every page of the nav, as the built site names it (use_directory_urls: false)."""
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]
    return [page.replace(".md", ".html") for page in nav_pages(nav)]


@pytest.fixture(scope="module")
def served_site(built_site):
    """The built site over HTTP on 127.0.0.1 only (an ephemeral port), as a reader's browser
    sees it."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("headless Chromium is missing: apt-get install -y chromium chromium-driver (.ci/run does)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the docs extra: pip install -e '.[docs]'")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # the Debian chromedriver, named explicitly: selenium must not try to download one
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


# runs in the page: waits for MathJax to finish, then reports what a reader would see
PAGE_REPORT = """
const done = arguments[0];
const report = () => {
  const scripts = [...document.querySelectorAll('script[type^="math/tex"]')];
  done({
    math: scripts.length,
    typeset: scripts.filter(s => window.MathJax && MathJax.Hub.getJaxFor(s)
                                 && document.getElementById(s.id + '-Frame')).length,
    math_errors: document.querySelectorAll('.MathJax_Error, .merror, [data-mjx-error]').length,
    images: [...document.querySelectorAll('article img')].map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0]),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    ids: [...document.querySelectorAll('[id]')].map(e => e.id),
    resources: performance.getEntriesByType('resource').map(e => e.name),
  });
};
if (window.MathJax && MathJax.Hub) { MathJax.Hub.Queue(report); } else { report(); }
"""


def test_every_page_in_a_browser(served_site, browser):
    """Math typeset (MathJax served by the site itself), figures load, internal links and
    their anchors resolve, nothing is fetched from another host, and the console is clean."""
    import urllib.parse
    import urllib.request

    pages, anchors = {}, set()
    for name in site_pages():
        browser.get(served_site + name)
        report = browser.execute_async_script(PAGE_REPORT)
        pages[name] = report
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, f"{name}: console errors {errors}"
        assert report["typeset"] == report["math"] and report["math_errors"] == 0, f"{name}: {report['math']} formulas, {report['typeset']} typeset, {report['math_errors']} errors"
        assert all(ok for _, ok in report["images"]), f"{name}: images that do not load: {report['images']}"
        outside = [r for r in report["resources"] if not r.startswith(served_site)]
        assert not outside, f"{name}: fetched from another host (the site must work offline): {outside}"
        for link in report["links"]:
            if link.startswith(served_site):
                url, _, fragment = link.partition("#")
                anchors.add((url, urllib.parse.unquote(fragment)))
    # the teaching pages are math pages, and their figures are there
    assert pages["single_head.html"]["math"] >= 20 and pages["index.html"]["math"] >= 2
    assert pages["real_model.html"]["math"] >= 60 and pages["lower_bounds.html"]["math"] >= 30  # LaTeX, not ASCII
    assert len(pages["single_head.html"]["images"]) == 1 and len(pages["skip.html"]["images"]) == 1
    ids = {}
    for url, fragment in sorted(anchors):
        if url not in ids:
            with urllib.request.urlopen(url, timeout=10) as response:  # raises on 404
                assert response.status == 200, url
                html = response.read().decode("utf-8", "replace")
            ids[url] = html
        if fragment and url.endswith(".html"):
            assert f'id="{fragment}"' in ids[url], f"broken anchor {url}#{fragment}"
    assert len(ids) >= len(site_pages())
