"""The learner's notebook (examples/learn-backprop.ipynb) runs and shows its results."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import ipykernel  # noqa: F401  (the kernel the notebook runs on; all three come with the dev extra)
import nbclient
import nbformat

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOTEBOOK = EXAMPLES / "learn-backprop.ipynb"


def test_the_committed_notebook_is_the_generated_one_without_outputs():
    sys.path.insert(0, str(EXAMPLES))
    try:
        import make_notebook
    finally:
        sys.path.remove(str(EXAMPLES))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    built = make_notebook.build()
    assert [c.source for c in nb.cells] == [c.source for c in built.cells], (
        "examples/learn-backprop.ipynb differs from examples/make_notebook.py; "
        "run python examples/make_notebook.py"
    )
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    nbformat.validate(nb)


def test_the_notebook_executes_and_shows_its_results(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    text, images = [], 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", out
            if out.output_type == "stream":
                text.append(out.text)
            elif "image/png" in out.get("data", {}):
                images += 1
    text = "".join(text)
    assert "predictions: [0 1 1 0]" in text  # the seed's network learns XOR
    assert "correct: 4 of 4" not in text  # the perceptron cannot
    assert "every check passed: True" in text  # explain's hand computations agree
    assert "delta(2) by hand: [ 0.06887  0.02475 -0.09187]" in text
    assert text.count("epoch ") >= 15  # verbose=True printed the MNIST epochs
    accuracy = float(re.search(r"test accuracy ([\d.]+)%", text).group(1))
    assert accuracy >= 90.0
    wrong = int(re.search(r"(\d+) of 1000 test digits misclassified", text).group(1))
    assert wrong == round(1000 * (1 - accuracy / 100))
    assert images == 3  # XOR loss, MNIST curves, misclassified digits
