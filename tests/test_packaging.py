"""One import root: the wheel installs ``rankcollapse`` and nothing else at top level, and the
public API resolves."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import rankcollapse

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    # a copy of the tracked files: the build writes build/ and *.egg-info next to its sources
    src = tmp_path_factory.mktemp("src")
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    if not files:
        pytest.skip("not a git checkout: cannot tell the package's files")
    for name in files:
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, src / name)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"building the wheel failed:\n{proc.stderr[-2000:]}")
    (path,) = out.glob("rankcollapse-*.whl")
    return path


def test_the_wheel_has_one_top_level_name(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert top == {"rankcollapse"}
    for inside in ("rankcollapse/proofs/registry.py", "rankcollapse/numerics/context.py",
                   "rankcollapse/numerics/checks/common.py", "rankcollapse/cli.py"):
        assert inside in names


def test_no_generic_top_level_packages_outside_the_source_tree(tmp_path):
    for name in ("numerics", "proofs"):
        proc = subprocess.run([sys.executable, "-c", f"import {name}"], cwd=tmp_path,
                              capture_output=True, text=True)
        assert proc.returncode != 0 and "ModuleNotFoundError" in proc.stderr


def test_every_public_name_resolves():
    for name in rankcollapse.__all__:
        assert getattr(rankcollapse, name) is not None
    with pytest.raises(AttributeError):
        rankcollapse.no_such_name  # noqa: B018


def test_import_stays_cheap(tmp_path):
    code = "import sys, rankcollapse; print(sorted(m for m in ('sympy', 'flint', 'scipy') if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert proc.stdout.strip() == "[]"
