"""MkDocs hooks of the teaching site (mkdocs.yml: ``hooks``).

* The math is typeset by MathJax 2.7 as shipped inside the ``jupyter-server-mathjax`` wheel (the
  ``docs`` extra): it is copied into the built site, so the site needs no CDN and the build no npm.
* Classroom notebooks: each page of :data:`NOTEBOOKS` is also served as a Jupyter notebook
  (``single_head.ipynb`` beside ``single_head.html``). jupytext reads the page (Markdown cells
  and code cells); each code cell keeps the sources of its ``>>>`` examples (doctest's parser),
  without prompts or expected output, so that a kernel can run it. The page stays the source.
* ``docs/api.md`` lists the public API, ``rankcollapse.__all__``: the ``api-reference`` marker
  becomes one mkdocstrings block per public name, so a name added to the API appears on its own.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

API_MARKER = "<!-- api-reference -->"
NOTEBOOKS = ["single_head.md"]


def mathjax_dir() -> Path:
    """The MathJax tree inside the installed jupyter-server-mathjax (found, not imported: its
    ``__init__`` pulls in jupyter_server)."""
    from mkdocs.exceptions import PluginError  # mkdocs prints it as a one-line error

    spec = importlib.util.find_spec("jupyter_server_mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise PluginError("jupyter-server-mathjax is not installed: python3 -m pip install -e \".[docs]\"")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def notebook(page: Path):
    """The page as an nbformat notebook whose code cells a kernel can run (run it from the
    repository root: the pages name files such as ``docs/instances/...``)."""
    import doctest

    import jupytext
    import nbformat

    nb = jupytext.read(page, fmt="md")
    parser = doctest.DocTestParser()
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            cells.append(cell)
            continue
        # one notebook cell per example that shows output, so the notebook shows each output;
        # the page's expected output stays in the cell's metadata (tests compare it)
        chunk = []
        for example in parser.get_examples(cell.source):
            chunk.append(example.source)
            if example.want:
                cells.append(nbformat.v4.new_code_cell("".join(chunk).rstrip("\n"), metadata={"expected": example.want}))
                chunk = []
        if chunk:
            cells.append(nbformat.v4.new_code_cell("".join(chunk).rstrip("\n")))
    nb.cells = cells
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def api_blocks() -> str:
    import rankcollapse

    blocks = []
    for name in rankcollapse.__all__:
        module, attribute = rankcollapse._PUBLIC[name]
        value = getattr(rankcollapse, name)
        if isinstance(value, str):  # a verdict name (HOLDS, ...): a constant has no docstring
            blocks.append(f"## `rankcollapse.{name}`\n\nThe verdict string `{value!r}` (see `decide`).\n")
            continue
        # griffe reads numerics/ and proofs/ as top-level packages (mkdocs.yml: paths)
        target = module + (f".{attribute}" if attribute else "")
        blocks.append(f"## `rankcollapse.{name}`\n\n::: {target}\n")
    return "\n".join(blocks)


def on_files(files, config):
    import jupytext
    from mkdocs.structure.files import File

    for name in NOTEBOOKS:
        text = jupytext.writes(notebook(Path(config["docs_dir"]) / name), fmt="ipynb")
        files.append(File.generated(config, name.replace(".md", ".ipynb"), content=text))
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:
    if API_MARKER in markdown:
        markdown = markdown.replace(API_MARKER, api_blocks())
    return markdown


def on_post_build(config) -> None:
    # localisations, accessibility extensions and the unused SVG output are most of MathJax's 12 MB
    shutil.copytree(mathjax_dir(), Path(config["site_dir"]) / "assets" / "mathjax", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("localization", "SVG", "a11y", "*.py"))


if __name__ == "__main__":
    # python3 docs_hooks.py docs/single_head.md [OUT.ipynb]: the classroom notebook, no site build
    import sys

    import jupytext

    def usage_error(message: str):
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)

    if len(sys.argv) not in (2, 3) or not sys.argv[1].endswith(".md"):
        usage_error("usage: python3 docs_hooks.py docs/PAGE.md [OUT.ipynb]")
    page = Path(sys.argv[1])
    if not page.is_file():
        usage_error(f"{page}: no such page")
    out = Path(sys.argv[2] if len(sys.argv) == 3 else page.with_suffix(".ipynb").name)
    jupytext.write(notebook(page), out, fmt="ipynb")
    print(f"wrote {out}")
