"""The wheel as a user installs it: one top-level package, ``binwatch``, beside Hugging Face ``datasets``.

The top-level folders of the repository (``datasets/``, ``events/``, ``inference/``, …) carry
names of other distributions; they must install as ``binwatch.datasets`` and so on, never as
generic top-level packages that overwrite someone else's. The scratch environment reuses the
test environment's third-party packages (Hugging Face ``datasets`` is one of the dev extras)
through a path entry, so that nothing is downloaded but the wheel's build backend.
"""

from __future__ import annotations

import json
import shutil
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

IMPORT_ALL = """
import importlib, json, sys
import datasets
from datasets import load_dataset  # Hugging Face's, untouched
failed = {}
for name in json.loads(sys.argv[1]):
    try:
        importlib.import_module(name)
    except Exception as exc:  # report every module that fails, not only the first
        failed[name] = f"{type(exc).__name__}: {exc}"
print(json.dumps({"hf": datasets.__file__, "load_dataset": load_dataset.__module__, "failed": failed}))
"""


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Built from a copy of the checkout's files: an in-tree build would reuse ``build/lib``,
    where setuptools never deletes a module that the sources no longer have."""
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    listed = run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    for name in filter(None, listed.stdout.split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, source, cwd=out)
    assert built.returncode == 0, built.stderr
    (path,) = out.glob("binwatch-*.whl")
    return path


# Scripts that only run inside another program: ``python -m binwatch`` and Alembic's environment.
SCRIPTS = {"binwatch.__main__", "binwatch.collector.db.migrations.env"}


def modules_of(wheel: Path) -> list[str]:
    names = zipfile.ZipFile(wheel).namelist()
    modules = [n.removesuffix(".py").removesuffix("/__init__").replace("/", ".") for n in names if n.endswith(".py")]
    return sorted(set(modules) - SCRIPTS)


def test_the_wheel_holds_one_top_level_package_and_every_source_module(wheel: Path):
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"binwatch"}
    folders = ["datasets", "model", "training", "inference", "edge", "events", "collector", "binwatch"]
    sources = {
        ".".join(("binwatch", *p.relative_to(ROOT).with_suffix("").parts)).replace("binwatch.binwatch", "binwatch")
        for folder in folders
        for p in (ROOT / folder).rglob("*.py")
    }
    packaged = set(modules_of(wheel)) | SCRIPTS
    assert {s.removesuffix(".__init__") for s in sources} == packaged
    release = [n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("binwatch/model/release/")]
    assert any(n.endswith("-int8.onnx") for n in release), "the shipped model travels in the wheel"


def test_installed_beside_hugging_face_datasets_both_work(wheel: Path, tmp_path: Path):
    env = tmp_path / "venv"
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    packages = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path)
    # The test environment's third-party packages, after the scratch environment's own.
    (Path(packages.stdout.strip()) / "_test_env.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    pip = (sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--ignore-installed")
    installed = run(*pip, wheel, cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr

    imported = run(python, "-c", IMPORT_ALL, json.dumps(modules_of(wheel)), cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    report = json.loads(imported.stdout)
    assert report["failed"] == {}
    assert report["load_dataset"].startswith("datasets.") and "site-packages" in report["hf"]
    generic = "import importlib.util as u; print([n for n in {names} if u.find_spec(n)])"
    names = ["model", "training", "inference", "edge", "events", "collector"]
    leaked = run(python, "-c", generic.format(names=names), cwd=tmp_path)
    assert leaked.stdout.strip() == "[]"

    helped = run(env / "bin" / "binwatch", "predict", "--help", cwd=tmp_path)
    assert helped.returncode == 0 and "usage: binwatch predict" in helped.stdout, helped.stderr

    removed = run(sys.executable, "-m", "pip", "--python", python, "uninstall", "-y", "-q", "binwatch", cwd=tmp_path)
    assert removed.returncode == 0, removed.stderr
    after = run(python, "-c", "from datasets import load_dataset; print(load_dataset.__module__)", cwd=tmp_path)
    assert after.returncode == 0 and after.stdout.startswith("datasets."), after.stderr
