"""The run report: metrics against hand counts, plots on disk, links in report.html."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import numpy as np
import pytest

from backprop.cli import main
from backprop.report import classification_metrics, make_report


def test_metrics_against_hand_counts():
    y_true = [0, 0, 0, 1, 1, 2]
    y_pred = [0, 0, 1, 1, 2, 2]
    m = classification_metrics(y_true, y_pred, ["a", "b", "c"])
    assert m["confusion"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert m["accuracy"] == pytest.approx(4 / 6) and m["correct"] == 4 and m["n"] == 6
    # class a: precision 2/2, recall 2/3; b: 1/2, 1/2; c: 1/2, 1/1
    p = [c["precision"] for c in m["per_class"]]
    r = [c["recall"] for c in m["per_class"]]
    f = [c["f1"] for c in m["per_class"]]
    assert p == pytest.approx([1.0, 0.5, 0.5])
    assert r == pytest.approx([2 / 3, 0.5, 1.0])
    assert f == pytest.approx([0.8, 0.5, 2 / 3])
    assert [c["support"] for c in m["per_class"]] == [3, 2, 1]
    assert m["macro"]["f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)


def test_metrics_with_a_class_never_predicted():
    m = classification_metrics([0, 1, 1], [0, 0, 0], ["x", "y"])
    assert m["per_class"][1] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}
    with pytest.raises(ValueError, match="class names"):
        classification_metrics([0, 3], [0, 0], ["x", "y"])


def test_macro_averages_agree_with_scikit_learn_when_a_class_is_absent():
    """A test set without class c (never true, never predicted): macro over a, b, d."""
    from sklearn.metrics import precision_recall_fscore_support

    y_true = [0, 0, 1, 3, 3, 3, 1]
    y_pred = [0, 1, 1, 3, 0, 3, 1]
    m = classification_metrics(y_true, y_pred, ["a", "b", "c", "d"])
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average="macro",
                                                 zero_division=0)
    assert (m["macro"]["precision"], m["macro"]["recall"], m["macro"]["f1"]) == pytest.approx(
        (p, r, f))


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs = []

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("href", "src"):
                self.refs.append(v)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from backprop.data import load_dataset

    ds = load_dataset("mnist-sample")
    data = tmp_path_factory.mktemp("d") / "part.npz"
    np.savez(data, X=ds.X_train[:500], y=ds.y_train[:500], X_test=ds.X_test[:150],
             y_test=ds.y_test[:150])
    out = tmp_path_factory.mktemp("runs") / "run"
    assert main(["train", "--data-dir", str(data), "--hidden", "20", "--epochs", "2",
                 "--quiet", "--out", str(out)]) == 0
    return out


def test_report_html_references_files_that_exist(run_dir):
    page = (run_dir / "report.html").read_text()
    parser = Links()
    parser.feed(page)
    local = [r for r in parser.refs if not r.startswith("data:")]
    assert {"curves.png", "confusion.png", "misclassified.png", "weights.png",
            "config.toml", "history.json"} <= set(local)
    for ref in local:
        assert not re.match(r"^[a-z]+://", ref), ref  # nothing online
        assert (run_dir / ref).is_file(), ref
    embedded = [r for r in parser.refs if r.startswith("data:image/png;base64,")]
    assert len(embedded) == 4  # readable even when the page is moved alone
    for name in ("curves.png", "confusion.png", "misclassified.png", "weights.png"):
        assert (run_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_shows_the_test_accuracy_of_the_model(run_dir):
    import backprop

    net = backprop.load(run_dir / "model.npz")
    acc = net.metadata["extra"]["test_accuracy"]
    page = (run_dir / "report.html").read_text()
    assert f"{acc:.2%}" in page
    assert "hidden = [20]" in page  # the config is on the page


def test_report_command_rewrites_the_page(run_dir, capsys):
    (run_dir / "report.html").unlink()
    (run_dir / "weights.png").unlink()
    assert main(["report", str(run_dir)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {run_dir / 'report.html'}"
    assert (run_dir / "weights.png").is_file()


def test_report_without_the_data_still_draws_the_curves(run_dir, tmp_path):
    import shutil

    import backprop

    moved = tmp_path / "copy"
    shutil.copytree(run_dir, moved)
    for f in ("curves.png", "confusion.png", "report.html"):
        (moved / f).unlink()
    net = backprop.load(moved / "model.npz")
    net.metadata["train_config"]["data_dir"] = str(tmp_path / "gone.npz")
    page = make_report(moved, model=net)
    text = page.read_text()
    assert (moved / "curves.png").is_file() and not (moved / "confusion.png").exists()
    assert "test-set plots left out" in text


def test_report_errors(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["report", str(tmp_path)]) == 2
    assert "history.json does not exist" in capsys.readouterr().err
