"""The registry, the bundled sample and the user's own data in every supported layout."""

from __future__ import annotations

import gzip
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backprop.cli import main
from backprop.data import DATASETS, Dataset, load_dataset
from backprop.data.datasets import SAMPLE_DIR
from backprop.data.idx import write_idx
from backprop.errors import DataError


def test_registry_names() -> None:
    assert set(DATASETS) == {"mnist", "fashion-mnist", "kmnist", "mnist-sample", "digits", "xor"}
    for name, spec in DATASETS.items():
        assert callable(spec["loader"]), name
        assert len(spec["class_names"]) >= 2


def test_bundled_sample() -> None:
    ds = load_dataset("mnist-sample")
    assert isinstance(ds, Dataset) and ds.name == "mnist-sample"
    assert ds.X_train.shape == (4000, 28, 28) and ds.X_test.shape == (1000, 28, 28)
    assert ds.X_train.dtype == np.uint8
    assert ds.y_train.dtype == np.int64 and ds.y_test.dtype == np.int64
    assert np.bincount(ds.y_train).tolist() == [400] * 10
    assert np.bincount(ds.y_test).tolist() == [100] * 10
    assert ds.class_names == [str(i) for i in range(10)] and ds.n_classes == 10
    assert ds.image_shape == (28, 28)
    # real handwriting: mostly background, full ink range, a plausible mean
    assert ds.X_train.min() == 0 and ds.X_train.max() == 255
    assert 20 < ds.X_train.mean() < 50
    assert (ds.X_train == 0).mean() > 0.7


def test_bundled_sample_matches_its_files_read_by_hand() -> None:
    raw = gzip.decompress((SAMPLE_DIR / "t10k-labels-idx1-ubyte.gz").read_bytes())
    magic, count = struct.unpack(">II", raw[:8])
    assert magic == 0x801 and count == 1000
    ds = load_dataset("mnist-sample")
    assert ds.y_test.tolist() == list(raw[8:])
    assert (SAMPLE_DIR / "ATTRIBUTION.md").is_file()
    assert "CC BY-SA 3.0" in (SAMPLE_DIR / "ATTRIBUTION.md").read_text()


def test_xor() -> None:
    ds = load_dataset("xor")
    assert ds.X_train.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert ds.y_train.tolist() == [0, 1, 1, 0]
    assert np.array_equal(ds.X_test, ds.X_train) and ds.image_shape is None
    assert ds.X_train.dtype.kind == "f"


def test_digits_split() -> None:
    from sklearn.datasets import load_digits

    ds = load_dataset("digits")
    full = load_digits()
    assert ds.image_shape == (8, 8) and ds.X_train.shape[1:] == (8, 8)
    assert len(ds.y_train) + len(ds.y_test) == len(full.target) == 1797
    assert len(ds.y_test) == DATASETS["digits"]["n_test"]
    # stratified: each class gives 20% (rounded) to the test part
    per_class = np.bincount(full.target)
    assert np.bincount(ds.y_test).tolist() == [int(np.floor(0.2 * n + 0.5)) for n in per_class]
    # the split is fixed (seed 0) and the parts partition the data
    again = load_dataset("digits")
    assert np.array_equal(again.X_test, ds.X_test)
    rows = {r.tobytes() for r in np.concatenate([ds.X_train, ds.X_test])}
    assert rows == {r.tobytes() for r in full.images}


def test_digits_without_sklearn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(DataError, match="pip install scikit-learn"):
        load_dataset("digits")


def write_four(folder: Path, n_train: int = 12, n_test: int = 5, gz: bool = True,
               dotted: bool = False, shape: tuple[int, ...] = (28, 28)) -> tuple:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    Xtr = rng.integers(0, 256, (n_train, *shape)).astype(np.uint8)
    ytr = (np.arange(n_train) % 10).astype(np.uint8)
    Xte = rng.integers(0, 256, (n_test, *shape)).astype(np.uint8)
    yte = (np.arange(n_test) % 10).astype(np.uint8)
    sep = "." if dotted else "-"
    ext = ".gz" if gz else ""
    write_idx(folder / f"train-images{sep}idx3-ubyte{ext}", Xtr)
    write_idx(folder / f"train-labels{sep}idx1-ubyte{ext}", ytr)
    if n_test:
        write_idx(folder / f"t10k-images{sep}idx3-ubyte{ext}", Xte)
        write_idx(folder / f"t10k-labels{sep}idx1-ubyte{ext}", yte)
    return Xtr, ytr, Xte, yte


@pytest.mark.parametrize("gz, dotted", [(True, False), (False, True)])
def test_idx_folder(tmp_path: Path, gz: bool, dotted: bool) -> None:
    Xtr, ytr, Xte, yte = write_four(tmp_path / "mine", gz=gz, dotted=dotted)
    ds = load_dataset(data_dir=tmp_path / "mine")
    assert ds.name == "mine" and ds.image_shape == (28, 28)
    assert np.array_equal(ds.X_train, Xtr) and np.array_equal(ds.y_test, yte)
    assert ds.y_train.dtype == np.int64 and ds.class_names == [str(i) for i in range(10)]


def test_idx_folder_without_test_pair(tmp_path: Path) -> None:
    write_four(tmp_path, n_test=0)
    ds = load_dataset(data_dir=tmp_path)
    assert ds.X_test is None and ds.y_test is None and len(ds.y_train) == 12
    assert "none" in ds.summary()


def test_idx_folder_count_mismatch(tmp_path: Path) -> None:
    write_four(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(11, np.uint8))
    with pytest.raises(DataError, match="holds 12 items but .* holds 11 labels"):
        load_dataset(data_dir=tmp_path)


def test_named_dataset_from_folder(tmp_path: Path) -> None:
    write_four(tmp_path)
    ds = load_dataset("fashion-mnist", data_dir=tmp_path)
    assert ds.name == "fashion-mnist" and ds.class_names[0] == "T-shirt/top"
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([0, 1, 2, 3, 12], np.uint8))
    with pytest.raises(DataError, match="label 12 is outside the 10 classes"):
        load_dataset("fashion-mnist", data_dir=tmp_path)


def test_named_dataset_wrong_image_size(tmp_path: Path) -> None:
    write_four(tmp_path, shape=(8, 8))
    with pytest.raises(DataError, match="should be 28x28"):
        load_dataset("mnist", data_dir=tmp_path)


def test_npz(tmp_path: Path) -> None:
    X = np.arange(60, dtype=np.float32).reshape(6, 10)
    y = np.array([0, 1, 2, 0, 1, 2])
    np.savez(tmp_path / "d.npz", X=X, y=y, X_test=X[:2], y_test=y[:2])
    ds = load_dataset(data_dir=tmp_path / "d.npz")
    assert np.array_equal(ds.X_train, X) and ds.y_train.tolist() == y.tolist()
    assert ds.X_test.shape == (2, 10) and ds.image_shape is None and ds.n_classes == 3
    np.savez(tmp_path / "only.npz", X=X.reshape(6, 2, 5), y=y)
    ds = load_dataset(data_dir=tmp_path / "only.npz")
    assert ds.X_test is None and ds.image_shape == (2, 5)


def test_npz_string_labels(tmp_path: Path) -> None:
    X = np.zeros((4, 3))
    np.savez(tmp_path / "s.npz", X=X, y=np.array(["dog", "cat", "dog", "bird"]),
             X_test=X[:1], y_test=np.array(["cat"]))
    ds = load_dataset(data_dir=tmp_path / "s.npz")
    assert ds.class_names == ["bird", "cat", "dog"]
    assert ds.y_train.tolist() == [2, 1, 2, 0] and ds.y_test.tolist() == [1]


def test_npz_errors(tmp_path: Path) -> None:
    np.savez(tmp_path / "a.npz", X=np.zeros((3, 2)), labels=np.zeros(3))
    with pytest.raises(DataError, match="needs arrays 'X' and 'y'"):
        load_dataset(data_dir=tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", X=np.zeros((3, 2)), y=np.zeros(2, int))
    with pytest.raises(DataError, match="3 rows but y has 2"):
        load_dataset(data_dir=tmp_path / "b.npz")
    np.savez(tmp_path / "c.npz", X=np.zeros((2, 2)), y=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(DataError, match="pickle"):
        load_dataset(data_dir=tmp_path / "c.npz")


def test_csv_kaggle_layout(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    pixels = rng.integers(0, 256, (5, 16))
    labels = np.array([3, 1, 4, 1, 5])
    header = "label," + ",".join(f"pixel{i}" for i in range(16))
    rows = [",".join(str(v) for v in [lab, *px]) for lab, px in zip(labels, pixels)]
    (tmp_path / "train.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    ds = load_dataset(data_dir=tmp_path / "train.csv")
    assert ds.X_train.dtype == np.uint8 and ds.X_train.shape == (5, 4, 4)
    assert ds.image_shape == (4, 4) and ds.X_test is None
    assert np.array_equal(ds.X_train.reshape(5, 16), pixels)
    # the classes are the distinct labels, sorted: 1, 3, 4, 5 (no empty classes 0 and 2)
    assert ds.class_names == ["1", "3", "4", "5"]
    assert [ds.class_names[i] for i in ds.y_train] == ["3", "1", "4", "1", "5"]
    (tmp_path / "plain.csv").write_text("1,0.5,2.5\n0,1.5,3\n")  # no header, float features
    ds = load_dataset(data_dir=tmp_path / "plain.csv")
    assert ds.X_train.tolist() == [[0.5, 2.5], [1.5, 3.0]] and ds.image_shape is None


def test_csv_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("label,a\n1,x\n")
    with pytest.raises(DataError, match="bad.csv"):
        load_dataset(data_dir=tmp_path / "bad.csv")
    (tmp_path / "lab.csv").write_text("0.5,1\n1,2\n")
    with pytest.raises(DataError, match="whole numbers"):
        load_dataset(data_dir=tmp_path / "lab.csv")


def test_csv_layouts_of_exported_tables(tmp_path: Path) -> None:
    """A pandas/R/spreadsheet export: a header, the label last, as a name or as text."""
    X = [[5.1, 3.5], [7.0, 3.2], [6.3, 3.3]]
    cases = {
        # the one column of text is the label, wherever it is, with or without a header
        "text_last.csv": "sepal,petal,species\n5.1,3.5,setosa\n7.0,3.2,versicolor\n"
                         '6.3,3.3,"virginica"\n',
        "no_header.csv": "5.1,3.5,setosa\n7.0,3.2,versicolor\n6.3,3.3,virginica\n",
        "text_first.csv": "setosa,5.1,3.5\nversicolor,7.0,3.2\nvirginica,6.3,3.3\n",
        # a header names the label column: numbers are labels there, not features
        "named.csv": "sepal,Target,petal\n5.1,0,3.5\n7.0,1,3.2\n6.3,2,3.3\n",
        # Excel in much of Europe: semicolons
        "semicolons.csv": "sepal;petal;class\n5.1;3.5;setosa\n7.0;3.2;versicolor\n"
                          "6.3;3.3;virginica\n",
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        ds = load_dataset(data_dir=tmp_path / name)
        assert ds.X_train.tolist() == X, name
        assert ds.y_train.tolist() == [0, 1, 2], name
        assert len(ds.class_names) == 3, name
    ds = load_dataset(data_dir=tmp_path / "text_last.csv")
    assert ds.class_names == ["setosa", "versicolor", "virginica"]
    assert "column 'species', the one column of text" in ds.source
    assert "column 'Target', by its name" in load_dataset(data_dir=tmp_path / "named.csv").source


def test_csv_row_numbers_are_not_features(tmp_path: Path) -> None:
    """pandas' index (an unnamed first column) and Kaggle's Id number the rows: dropped."""
    (tmp_path / "pandas.csv").write_text(",a,b,kind\n0,5.1,3.5,x\n1,7.0,3.2,y\n2,6.3,3.3,x\n")
    (tmp_path / "kaggle.csv").write_text("Id,a,b,kind\n1,5.1,3.5,x\n2,7.0,3.2,y\n3,6.3,3.3,x\n")
    for name, column in (("pandas.csv", "column 1 (no name)"), ("kaggle.csv", "column 'Id'")):
        ds = load_dataset(data_dir=tmp_path / name)
        assert ds.X_train.tolist() == [[5.1, 3.5], [7.0, 3.2], [6.3, 3.3]], name
        assert ds.y_train.tolist() == [0, 1, 0] and ds.class_names == ["x", "y"]
        assert f"row numbers dropped: {column}" in ds.source
    # an 'id' column that repeats is a feature, not a row number
    (tmp_path / "ids.csv").write_text("id,a,kind\n1,5.1,x\n1,7.0,y\n")
    assert load_dataset(data_dir=tmp_path / "ids.csv").X_train.tolist() == [[1, 5.1], [1, 7.0]]


@pytest.mark.parametrize("text, words", [
    # a header, all numbers, no column named as the label: first or last? Not guessed
    ("Pregnancies,Glucose,Outcome\n6,148,1\n1,85,0\n",  # Pima diabetes: Outcome last
     "which column is the label.*rename the label"),
    ("Id,a,b\n1,0.5,0\n2,2.5,1\n", "which column is the label.*rename the label"),  # Kaggle
    # without a header, the first column, which must then hold whole numbers
    ("0.5,1.5,0\n2.5,3.5,1\n", "name it 'label' in the header row"),
    # two columns of text: which is the label is not guessed
    ("colour,size,kind\nred,1,a\nblue,2,b\n", "cannot parse as numbers"),
    # a trailing comma leaves an empty column: a missing value, not a column of labels
    ("0,1.5,2.5,\n1,0.5,3.5,\n", "cannot parse as numbers"),
    # one column of text in the middle is a feature (Titanic's Sex), not taken for the label
    ("PassengerId,Survived,Sex,Age\n1,0,male,22\n2,1,female,38\n", "which column is the label"),
    # a quoted field may hold the delimiter
    ('PassengerId,Label,Name,Sex,Age\n1,0,"Braund, Mr. Owen",male,22\n'
     '2,1,"Cumings, Mrs. John",female,38\n', "the columns 'Name', 'Sex' hold text.*encode"),
    ('Name,label,Age\n"Braund, Mr. Owen",0,22\n"Cumings, Mrs. John",1,38\n',
     "the column 'Name' holds text"),
    ("species,a\nx,1\ny,2,3\n", "line 3 has 3 fields where line 2 has 2"),
], ids=["pima", "kaggle-id", "no-header", "two-texts", "trailing-comma", "text-feature",
        "quoted-comma", "one-text-feature", "ragged"])
def test_csv_label_column_errors_say_how_to_choose(tmp_path: Path, text: str, words: str) -> None:
    (tmp_path / "d.csv").write_text(text)
    with pytest.raises(DataError, match=words):
        load_dataset(data_dir=tmp_path / "d.csv")


def make_image(path: Path, value: int, size: tuple[int, int] = (6, 4), mode: str = "L") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    color = value if mode == "L" else (value, value, value)
    Image.new(mode, size, color).save(path)


def test_image_folder(tmp_path: Path) -> None:
    make_image(tmp_path / "imgs" / "dog" / "a.png", 10)
    make_image(tmp_path / "imgs" / "cat" / "b.png", 200, mode="RGB")
    make_image(tmp_path / "imgs" / "cat" / "c.png", 77)
    (tmp_path / "imgs" / "cat" / "notes.txt").write_text("ignored")
    ds = load_dataset(data_dir=tmp_path / "imgs")
    assert ds.class_names == ["cat", "dog"] and ds.image_shape == (4, 6)
    assert ds.X_train.dtype == np.uint8 and ds.X_train.shape == (3, 4, 6)
    assert ds.y_train.tolist() == [0, 0, 1]
    assert [int(x[0, 0]) for x in ds.X_train] == [200, 77, 10]
    assert ds.X_test is None


def test_image_folder_train_test(tmp_path: Path) -> None:
    for split in ("train", "test"):
        make_image(tmp_path / split / "a" / "1.png", 1)
        make_image(tmp_path / split / "b" / "2.png", 2)
    ds = load_dataset(data_dir=tmp_path)
    assert ds.class_names == ["a", "b"] and len(ds.y_train) == 2 and ds.y_test.tolist() == [0, 1]


def pillow_resized(path: Path, height: int, width: int) -> np.ndarray:
    """Pillow's own Lanczos resize of a grey file's levels in [0, 1], as uint8: the truth."""
    grey = np.asarray(Image.open(path).convert("L"), dtype=np.float32) / 255.0
    im = Image.fromarray(grey, mode="F").resize((width, height), Image.Resampling.LANCZOS)
    return np.clip(np.round(np.asarray(im) * 255.0), 0, 255).astype(np.uint8)


def noise_image(path: Path, size: tuple[int, int], seed: int) -> None:
    """A grey PNG of ``size`` (width, height) with random levels."""
    path.parent.mkdir(parents=True, exist_ok=True)
    levels = np.random.default_rng(seed).integers(0, 256, size[::-1], dtype=np.uint8)
    Image.fromarray(levels, "L").save(path)


def test_image_folder_sizes_differ_are_read_at_the_most_common_size(tmp_path: Path) -> None:
    sizes = {"a/1": (6, 4), "a/2": (6, 4), "a/3": (9, 7), "b/4": (6, 4), "b/5": (3, 3),
             "b/6": (6, 4)}
    for i, (name, size) in enumerate(sizes.items()):
        noise_image(tmp_path / f"{name}.png", size, i)
    ds = load_dataset(data_dir=tmp_path)
    assert ds.image_shape == (4, 6) and ds.X_train.shape == (6, 4, 6)
    assert ds.notes == ["resized 2 of 6 images to 4×6, the most common size; --image-size "
                        "HxW to choose"]
    for x, name in zip(ds.X_train, sizes):
        f = tmp_path / f"{name}.png"
        own = np.asarray(Image.open(f))
        assert np.array_equal(x, own if own.shape == (4, 6) else pillow_resized(f, 4, 6))
    assert ds.notes[0] in ds.summary()


def test_image_folder_size_ties_go_to_the_smaller_and_image_size_wins(tmp_path: Path) -> None:
    for i, size in enumerate([(8, 8), (4, 4), (8, 8), (4, 4)]):
        noise_image(tmp_path / "ab"[i % 2] / f"{i}.png", size, i)
    assert load_dataset(data_dir=tmp_path).image_shape == (4, 4)
    ds = load_dataset(data_dir=tmp_path, image_size="5x3")
    assert ds.image_shape == (5, 3)
    assert np.array_equal(ds.X_train[0], pillow_resized(tmp_path / "a" / "0.png", 5, 3))
    assert ds.notes == ["resized 4 of 4 images to 5×3, as --image-size asks"]


def test_image_folder_of_one_size_is_read_as_it_is(tmp_path: Path) -> None:
    noise_image(tmp_path / "a" / "1.png", (5, 3), 1)
    noise_image(tmp_path / "b" / "2.png", (5, 3), 2)
    ds = load_dataset(data_dir=tmp_path)
    assert ds.notes == [] and "resized" not in ds.summary()
    assert np.array_equal(ds.X_train[0], np.asarray(Image.open(tmp_path / "a" / "1.png")))


def test_the_byte_budget_counts_the_resized_size(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Two 40x40 images (3,200 bytes as read) fit a 500-byte budget once resized to 10x10."""
    monkeypatch.setenv("BACKPROP_MAX_DATA_BYTES", "500")
    noise_image(tmp_path / "a" / "1.png", (40, 40), 1)
    noise_image(tmp_path / "b" / "2.png", (40, 40), 2)
    assert load_dataset(data_dir=tmp_path, image_size="10").X_train.nbytes == 200
    with pytest.raises(DataError, match=r"2.png: .*800 bytes.*BACKPROP_MAX_DATA_BYTES"):
        load_dataset(data_dir=tmp_path, image_size="20x20")  # 800 bytes


def test_entry_point_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unknown data set 'mnistt'"):
        load_dataset("mnistt")
    with pytest.raises(DataError, match="name a data set"):
        load_dataset()
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(data_dir=tmp_path / "nope")
    with pytest.raises(DataError, match="built in"):
        load_dataset("xor", data_dir=tmp_path)
    (tmp_path / "x.txt").write_text("1")
    with pytest.raises(DataError, match="unknown data file type"):
        load_dataset(data_dir=tmp_path / "x.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds neither"):
        load_dataset(data_dir=tmp_path / "empty")


def test_cli_info_sample(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "info", "mnist-sample"]) == 0
    out = capsys.readouterr().out
    assert "4,000 items" in out and "1,000 items" in out and "0:400" in out
    assert str(SAMPLE_DIR) in out


def test_cli_info_data_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_four(tmp_path)
    assert main(["data", "info", "--data-dir", str(tmp_path)]) == 0
    assert "12 items" in capsys.readouterr().out
    assert main(["data", "info", "bogus"]) == 2
    assert "unknown data set 'bogus'" in capsys.readouterr().err


def test_cli_list_matches_what_loads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`data list` names every registered set; its counts are what loading gives."""
    assert main(["data", "list", "--cache-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["name", "train"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == set(DATASETS)
    for name in ("mnist-sample", "digits", "xor"):
        ds = load_dataset(name)
        assert f"{len(ds.y_train):,} + {len(ds.y_test):,}" in rows[name]
        assert f"  {ds.n_classes}  " in rows[name]
    assert "28×28" in rows["mnist-sample"] and "8×8" in rows["digits"]
    # nothing in an empty cache: the command that fetches it
    assert "not here: backprop data fetch mnist" in rows["mnist"]
    assert main(["data", "list", "xor"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["name", "xor"]


# Red and green of one ITU-R 601 luma (Pillow's "L": 0.299 R + 0.587 G + 0.114 B = 60):
# read as greyscale, a red square and a green one are the same image.
RED, GREEN = (200, 0, 0), (0, 102, 0)


def square(colour: tuple[int, int, int], at: tuple[int, int] = (3, 3),
           side: int = 12) -> np.ndarray:
    """uint8 (side, side, 3): black, with a 5x5 square of ``colour`` whose corner is ``at``."""
    a = np.zeros((side, side, 3), np.uint8)
    a[at[0]: at[0] + 5, at[1]: at[1] + 5] = colour
    return a


def test_red_and_green_have_one_grey_level() -> None:
    grey = [Image.new("RGB", (1, 1), c).convert("L").getpixel((0, 0)) for c in (RED, GREEN)]
    assert grey == [60, 60]


def test_colour_image_folder_reads_rgb(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    written = {"green": [square(GREEN, (1, 2)), square(GREEN, (6, 5))],
               "red": [square(RED, (0, 0)), square(RED, (7, 7))]}
    for name, images in written.items():
        for i, a in enumerate(images):
            folder = tmp_path / "imgs" / name
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(a, "RGB").save(folder / f"{i}.png")
    ds = load_dataset(data_dir=tmp_path / "imgs")
    assert ds.image_shape == (12, 12, 3) and ds.X_train.dtype == np.uint8
    assert ds.class_names == ["green", "red"] and ds.y_train.tolist() == [0, 0, 1, 1]
    assert np.array_equal(ds.X_train, np.stack(written["green"] + written["red"]))
    assert main(["data", "info", "--data-dir", str(tmp_path / "imgs")]) == 0
    out = capsys.readouterr().out
    assert "(12, 12, 3) uint8" in out and "colour (RGB), 3 inputs a pixel" in out
    assert f"  folder       {tmp_path / 'imgs'}\n" in out  # a folder's line gives no byte count


def test_grey_saved_as_rgb_jpeg_stays_grey(tmp_path: Path) -> None:
    """Colour is told on the decoded pixels: an RGB JPEG of grey levels is a grey image."""
    grey = np.tile(np.arange(0, 240, 20, dtype=np.uint8), (12, 1))
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        Image.fromarray(np.repeat(grey[..., None], 3, axis=2), "RGB").save(
            tmp_path / name / "1.jpg", quality=95)
    ds = load_dataset(data_dir=tmp_path)
    assert ds.image_shape == (12, 12) and ds.X_train.shape == (2, 12, 12)
    assert np.abs(ds.X_train[0].astype(int) - grey).max() <= 3  # JPEG's loss only


@pytest.mark.parametrize("split", [False, True])
def test_one_colour_image_reads_the_whole_folder_in_colour(tmp_path: Path, split: bool) -> None:
    """A grey image beside a colour one (in the same split or the other) reads as RGB, its
    grey level in all three channels."""
    train = tmp_path / "train" if split else tmp_path
    make_image(train / "a" / "1.png", 77, size=(12, 12))
    make_image(train / "b" / "2.png", 150, size=(12, 12), mode="RGB")  # grey, saved as RGB
    colour = (tmp_path / "test" if split else tmp_path) / "b" / "3.png"
    if split:
        make_image(tmp_path / "test" / "a" / "4.png", 5, size=(12, 12))
    colour.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(square(RED), "RGB").save(colour)
    ds = load_dataset(data_dir=tmp_path)
    assert ds.image_shape == (12, 12, 3) and ds.X_train.shape[1:] == (12, 12, 3)
    assert np.all(ds.X_train[0] == 77) and np.all(ds.X_train[1] == 150)
    shown = ds.X_test[1] if split else ds.X_train[2]
    assert np.array_equal(shown, square(RED))


def test_the_byte_budget_counts_three_channels(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Two 12x12 images: 288 bytes grey, 864 in colour; a 500-byte budget holds only grey."""
    monkeypatch.setenv("BACKPROP_MAX_DATA_BYTES", "500")
    make_image(tmp_path / "grey" / "a" / "1.png", 9, size=(12, 12))
    make_image(tmp_path / "grey" / "b" / "2.png", 99, size=(12, 12))
    assert load_dataset(data_dir=tmp_path / "grey").X_train.nbytes == 288
    make_image(tmp_path / "mixed" / "a" / "1.png", 9, size=(12, 12))
    (tmp_path / "mixed" / "b").mkdir()
    Image.fromarray(square(GREEN), "RGB").save(tmp_path / "mixed" / "b" / "2.png")
    with pytest.raises(DataError, match=r"2.png: .*864 bytes.*BACKPROP_MAX_DATA_BYTES"):
        load_dataset(data_dir=tmp_path / "mixed")
