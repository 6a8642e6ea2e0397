"""The built wheel, installed into a clean virtual environment, trains, predicts and serves.

``.ci/run`` builds the wheel and sdist (``python -m build``) into ``dist/`` and
sets ``BACKPROP_WHEEL_DIR``; elsewhere this module is skipped with the command
that runs it::

    python -m build --outdir dist . && BACKPROP_WHEEL_DIR=dist python -m pytest tests/test_wheel.py

The environment gets the wheel from that folder and its dependencies (NumPy,
tqdm, Pillow, Matplotlib) from the package index pip is configured with (its
cache, in CI); nothing of this checkout is on its path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import backprop

WHEEL_DIR = os.environ.get("BACKPROP_WHEEL_DIR")
if not WHEEL_DIR:
    pytest.skip(
        "no built wheel: run `python -m build --outdir dist . && BACKPROP_WHEEL_DIR=dist "
        "python -m pytest tests/test_wheel.py` (.ci/run does)",
        allow_module_level=True,
    )
DIST = Path(WHEEL_DIR).resolve()
VERSION = backprop.__version__


def _one(pattern: str) -> Path:
    found = sorted(DIST.glob(pattern))
    assert len(found) == 1, f"expected one {pattern} in {DIST}, found {found}"
    return found[0]


def test_wheel_and_sdist_hold_the_package_and_its_data():
    wheel = _one(f"backprop_mlp-{VERSION}-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        meta = z.read(f"backprop_mlp-{VERSION}.dist-info/METADATA").decode()
        entry = z.read(f"backprop_mlp-{VERSION}.dist-info/entry_points.txt").decode()
    for needed in ("backprop/__init__.py", "backprop/py.typed", "backprop/engine/network.py",
                   "backprop/serve/web/index.html", "backprop/serve/web/app.js",
                   "backprop/callbacks.py", "backprop/sklearn.py"):
        assert needed in names, needed
    assert any(n.startswith("backprop/data/mnist_sample/") for n in names)
    assert not any(n.startswith(("tests/", "bench/")) for n in names)
    assert "Name: backprop-mlp\n" in meta and f"Version: {VERSION}\n" in meta
    assert "Provides-Extra: onnx" in meta and "Provides-Extra: tensorboard" in meta
    assert "backprop = backprop.cli:main" in entry
    sdist = _one(f"backprop_mlp-{VERSION}.tar.gz")
    with tarfile.open(sdist) as t:
        members = set(t.getnames())
    root = f"backprop_mlp-{VERSION}"
    for needed in ("pyproject.toml", "README.md", "LICENSE", "src/backprop/__init__.py"):
        assert f"{root}/{needed}" in members, needed


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """A fresh virtual environment with only the wheel (and its dependencies) installed."""
    root = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["BACKPROP_DATA"] = str(root / "cache")
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True, env=env)
    py = root / "venv" / "bin" / "python"
    wheel = _one(f"backprop_mlp-{VERSION}-py3-none-any.whl")
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--find-links", str(DIST),
                    str(wheel)], check=True, env=env, cwd=root)
    return root, env


def _run(venv, *args, **kw):
    root, env = venv
    return subprocess.run([str(root / "venv" / "bin" / args[0]), *args[1:]], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600, **kw)


def test_installed_wheel_is_the_one_imported(venv):
    root, _ = venv
    out = _run(venv, "python", "-c",
               "import backprop, importlib.metadata as m; "
               "print(backprop.__file__); print(m.version('backprop-mlp'))")
    assert out.returncode == 0, out.stderr
    path, version = out.stdout.split()
    assert Path(path).is_relative_to(root / "venv"), path  # not this checkout
    assert version == VERSION


def test_train_predict_and_serve_from_the_wheel(venv):
    from PIL import Image

    root, _ = venv
    out = _run(venv, "backprop", "train", "--dataset", "mnist-sample", "--epochs", "1",
               "--out", "run")
    assert out.returncode == 0, out.stderr
    assert "test accuracy" in out.stdout
    model = root / "run" / "model.npz"
    assert model.is_file()

    from backprop.data import load_dataset

    digit = load_dataset("mnist-sample").X_test[0]
    Image.fromarray(255 - digit).resize((140, 140)).save(root / "digit.png")  # dark on light
    out = _run(venv, "backprop", "predict", str(model), "digit.png", "--json", "--top", "10")
    assert out.returncode == 0, out.stderr
    entry = json.loads(out.stdout)[0]
    probs = {t["label"]: t["probability"] for t in entry["top"]}
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-5)

    # the same file through this checkout's code gives the same answer
    model_here = backprop.load(model)
    mine = model_here.predict_image(root / "digit.png")
    names = model_here.class_names
    assert entry["label"] == mine["label"]
    for k, name in enumerate(names):
        assert probs[name] == pytest.approx(float(mine["probabilities"][k]), abs=1e-6)

    out = _run(venv, "backprop", "serve", "--help")
    assert out.returncode == 0, out.stderr
    assert "--port" in out.stdout and "draw a digit" in out.stdout
