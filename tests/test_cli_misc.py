"""`backprop gradcheck` and `backprop evaluate`, checked against independent computations."""

from __future__ import annotations

import json

import numpy as np
import pytest

import backprop
from backprop.cli import main
from backprop.data import Preprocessor, load_dataset
from backprop.model.modelfile import save


def test_gradcheck_passes_and_prints_every_array(capsys):
    rc = main(["gradcheck", "--layers", "20,7,5,3", "--activation", "tanh", "--l2", "0.1",
               "--samples", "4"])
    out = capsys.readouterr().out
    assert rc == 0
    rows = [ln.split() for ln in out.splitlines() if ln[:1] in ("W", "b")]
    assert [r[0] for r in rows] == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert all(float(r[-2]) <= 1e-7 and r[-1] == "ok" for r in rows)
    assert out.splitlines()[-1].startswith("PASS")


def test_gradcheck_default_mnist_shape(capsys):
    assert main(["gradcheck", "--max-entries", "10", "--samples", "3"]) == 0
    out = capsys.readouterr().out
    assert "Network([784, 30, 10]" in out and "(30, 784)" in out


def test_gradcheck_fails_with_exit_1_on_a_wrong_gradient(capsys, monkeypatch):
    import backprop.engine.gradcheck as gc

    real = gc.gradient_check

    def broken(*a, **k):
        errors = real(*a, **k)
        errors["W1"] = 0.3  # what a wrong backward pass gives
        return errors

    monkeypatch.setattr(gc, "gradient_check", broken)
    assert main(["gradcheck", "--layers", "4,3,2"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out.splitlines()[-1] and "3.00e-01  FAIL" in out


def test_gradcheck_bad_layers(capsys):
    assert main(["gradcheck", "--layers", "784"]) == 2  # a usage error: one line, exit 2
    err = capsys.readouterr().err
    assert "at least two sizes" in err and err.count("\n") == 1


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """A small model trained in memory on the sample, saved with its preprocessing."""
    ds = load_dataset("mnist-sample")
    pre = Preprocessor("standard").fit(ds.X_train)
    net = backprop.Network([784, 24, 10], activation="relu", seed=0)
    backprop.fit(net, pre.transform(ds.X_train), ds.y_train, epochs=2, lr=0.05)
    path = tmp_path_factory.mktemp("m") / "model.npz"
    save(net, path, preprocessor=pre, class_names=ds.class_names,
         train_config={"dataset": "mnist-sample"})
    return path, net, pre, ds


def test_evaluate_json_matches_independent_counts(model_file, capsys):
    path, net, pre, ds = model_file
    assert main(["evaluate", str(path), "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    pred = net.predict(pre.transform(ds.X_test))
    assert m["correct"] == int(np.sum(pred == ds.y_test)) and m["n"] == 1000
    for c in range(10):
        tp = np.sum((pred == c) & (ds.y_test == c))
        assert m["confusion"][c][c] == tp
        assert m["per_class"][c]["recall"] == pytest.approx(tp / np.sum(ds.y_test == c))
        assert m["per_class"][c]["precision"] == pytest.approx(tp / max(1, np.sum(pred == c)))
    assert np.sum(m["confusion"]) == 1000


def test_evaluate_text(model_file, capsys):
    path, *_ = model_file
    assert main(["evaluate", str(path), "--dataset", "mnist-sample"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("accuracy 0.") and "on mnist-sample" in out
    assert "precision" in out and "confusion matrix" in out
    assert len([ln for ln in out.splitlines() if ln[:1].isdigit()]) == 20  # 10 + 10 rows


def test_evaluate_errors(model_file, tmp_path, capsys):
    path, *_ = model_file
    assert main(["evaluate", str(tmp_path / "missing.npz")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["evaluate", str(path), "--dataset", "xor"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"PK\x03\x04 not really")
    assert main(["evaluate", str(junk)]) == 2
    assert "not a readable model file" in capsys.readouterr().err


def test_evaluate_a_csv_test_file_of_some_classes(tmp_path, capsys):
    """Train on a table's CSV, score a second CSV (no test split: scored whole) that holds
    two of the three classes, by name, against counts made here from the model's answers."""
    rng = np.random.default_rng(0)
    names = np.array(["rose", "tulip", "lily"])

    def table(n, classes):
        y = rng.choice(classes, n)
        X = rng.normal(size=(n, 3)) + 3.0 * np.eye(3)[y]
        lines = ["a,b,c,kind"] + [f"{x[0]:.4f},{x[1]:.4f},{x[2]:.4f},{names[k]}"
                                  for x, k in zip(X, y)]
        return "\n".join(lines) + "\n", X, y

    text, *_ = table(300, [0, 1, 2])
    (tmp_path / "train.csv").write_text(text)
    text, X_te, y_te = table(40, [1, 2])  # no roses
    (tmp_path / "test.csv").write_text(text)
    run = tmp_path / "run"
    assert main(["train", "--data-dir", str(tmp_path / "train.csv"), "--out", str(run),
                 "--epochs", "30", "--no-report"]) == 0
    out = capsys.readouterr().out
    assert "(labels: column 'kind', the one column of text, at an end)" in out.splitlines()[0]
    assert f"backprop evaluate {run / 'model.npz'} --data-dir TEST" in out
    from backprop.model.modelfile import load

    model = load(run / "model.npz")
    assert model.class_names == ["lily", "rose", "tulip"]
    pred = model.predict(np.round(X_te, 4))  # what the files hold
    truth = np.array([model.class_names.index(n) for n in names[y_te]])
    assert main(["evaluate", str(run / "model.npz"), "--data-dir", str(tmp_path / "test.csv"),
                 "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["n"] == 40 and m["correct"] == int(np.sum(pred == truth))
    assert m["per_class"][1]["support"] == 0  # rose
    assert "all 40 items" in m["dataset"]
    # predict: each row of a CSV, with its label column (left out) or without one
    rows = "\n".join(["a,b,c"] + [",".join(f"{v:.4f}" for v in x) for x in X_te]) + "\n"
    (tmp_path / "rows.csv").write_text(rows)
    for f in ("rows.csv", "test.csv"):
        assert main(["predict", str(run / "model.npz"), str(tmp_path / f), "--json"]) == 0
        got = json.loads(capsys.readouterr().out)
        assert [g["label"] for g in got] == [model.class_names[k] for k in pred]
        assert [g["row"] for g in got] == list(range(1, 41))
    (tmp_path / "short.csv").write_text("a,b\n1,2\n")
    assert main(["predict", str(run / "model.npz"), str(tmp_path / "short.csv")]) == 2
    assert "takes 3 features" in capsys.readouterr().err
    # the training file again: refused, it says nothing of new data
    assert main(["evaluate", str(run / "model.npz")]) == 2
    assert "no test split" in capsys.readouterr().err
    assert main(["evaluate", str(run / "model.npz"), "--data-dir",
                 str(tmp_path / "train.csv")]) == 2
    assert "has not seen" in capsys.readouterr().err
    # a class the model does not know
    (tmp_path / "odd.csv").write_text("a,b,c,kind\n1,2,3,daisy\n")
    assert main(["evaluate", str(run / "model.npz"), "--data-dir",
                 str(tmp_path / "odd.csv")]) == 2
    err = capsys.readouterr().err
    assert "[daisy]" in err and err.count("\n") == 1


def test_predict_rows_of_pixels_with_a_model_of_images(tmp_path, capsys):
    """Kaggle's layout: train.csv of label + 256 pixels (16×16 images), test.csv of pixels
    without labels; predict classifies each row as the model does the same images."""
    from backprop.model.modelfile import load

    rng = np.random.default_rng(1)
    X = rng.integers(0, 256, (60, 256))
    y = np.arange(60) % 2
    X[y == 1, :128] //= 4  # class 1: a dark top half
    head = ",".join(f"pixel{i}" for i in range(256))
    (tmp_path / "train.csv").write_text(
        "label," + head + "\n" + "".join(f"{k}," + ",".join(map(str, x)) + "\n"
                                       for k, x in zip(y, X)))
    (tmp_path / "test.csv").write_text(
        head + "\n" + "".join(",".join(map(str, x)) + "\n" for x in X[:7]))
    run = tmp_path / "run"
    assert main(["train", "--data-dir", str(tmp_path / "train.csv"), "--out", str(run),
                 "--epochs", "5", "--quiet", "--no-report"]) == 0
    model = load(run / "model.npz")
    assert model.image is not None  # a model of 16×16 images
    capsys.readouterr()
    assert main(["predict", str(run / "model.npz"), str(tmp_path / "test.csv"), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    want = model.predict(X[:7].reshape(7, 16, 16).astype(np.uint8))
    assert [g["label"] for g in got] == [model.class_names[k] for k in want]
    # a submission file: Kaggle's header, the rows numbered from 1
    sub = tmp_path / "submission.csv"
    assert main(["predict", str(run / "model.npz"), str(tmp_path / "test.csv"), "--output",
                 str(sub), "--columns", "ImageId,Label"]) == 0
    assert sub.read_text().splitlines() == ["ImageId,Label"] + [
        f"{i},{model.class_names[k]}" for i, k in enumerate(want, start=1)]
    # a file with its own Id column (left out of the features): those ids, as written
    (tmp_path / "ids.csv").write_text(
        "Id," + head + "\n" + "".join(f"{900 + i}," + ",".join(map(str, x)) + "\n"
                                      for i, x in enumerate(X[:7])))
    assert main(["predict", str(run / "model.npz"), str(tmp_path / "ids.csv"), "--output",
                 str(sub)]) == 0
    assert sub.read_text().splitlines() == ["id,label"] + [
        f"{900 + i},{model.class_names[k]}" for i, k in enumerate(want)]
    capsys.readouterr()
    assert main(["predict", str(run / "model.npz"), str(tmp_path / "test.csv"), "--output",
                 str(sub), "--columns", "ImageId"]) == 2
    err = capsys.readouterr().err
    assert "--columns ImageId: give two names" in err and err.count("\n") == 1
    assert main(["predict", str(run / "model.npz"), str(tmp_path / "test.csv"), "--output",
                 str(tmp_path / "nowhere" / "sub.csv")]) == 2
    err = capsys.readouterr().err
    assert "the folder" in err and "does not exist" in err and err.count("\n") == 1


def test_debug_shows_the_traceback(tmp_path):
    from backprop.errors import ModelFileError

    with pytest.raises(ModelFileError):
        main(["--debug", "evaluate", str(tmp_path / "missing.npz")])
