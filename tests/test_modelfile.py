"""Model files: round trip, atomic writes, and one clear error per malformed file."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

import backprop
from backprop.data import Preprocessor
from backprop.errors import ModelFileError
from backprop.model.modelfile import METADATA_KEY, load, save


def make_net(dtype="float32"):
    return backprop.Network([6, 5, 3], activation="tanh", dtype=dtype, seed=3)


def meta_blob(meta: dict) -> np.ndarray:
    return np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)


@pytest.fixture
def saved(tmp_path):
    net = make_net()
    pre = Preprocessor("standard").fit(np.random.default_rng(0).random((20, 2, 3)))
    path = tmp_path / "m.npz"
    save(net, path, preprocessor=pre, class_names=["a", "b", "c"], test_accuracy=0.5)
    return net, pre, path


def arrays_of(path):
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def rewrite(path, arrays):
    np.savez(path, **arrays)


def test_round_trip_keeps_weights_preprocessing_and_names(saved):
    net, pre, path = saved
    loaded = backprop.load(path)
    for a, b in zip(net.params(), loaded.network.params()):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert loaded.network.config() == net.config()
    assert loaded.class_names == ["a", "b", "c"]
    assert loaded.metadata["extra"]["test_accuracy"] == 0.5
    X = np.random.default_rng(1).random((7, 2, 3))
    assert np.array_equal(loaded.preprocessor.transform(X), pre.transform(X))
    Xp = pre.transform(X)
    assert np.array_equal(loaded.network.predict_proba(Xp), net.predict_proba(Xp))
    assert np.array_equal(loaded.predict_proba(X), net.predict_proba(Xp).astype(np.float64))


def test_loaded_model_saves_its_metadata_again(saved, tmp_path):
    _, _, path = saved
    loaded = load(path)
    again = tmp_path / "again.npz"
    loaded.save(again)
    second = load(again)
    assert second.class_names == ["a", "b", "c"]
    assert second.preprocessor.to_dict() == loaded.preprocessor.to_dict()
    assert second.metadata["extra"]["test_accuracy"] == 0.5


def test_float64_network_round_trips(tmp_path):
    net = make_net("float64")
    save(net, tmp_path / "m.npz")
    loaded = load(tmp_path / "m.npz")
    assert loaded.network.dtype == np.float64
    assert loaded.preprocessor is None and loaded.class_names == ["0", "1", "2"]


def test_write_is_atomic_and_leaves_no_temporary_files(tmp_path, monkeypatch):
    net = make_net()
    path = tmp_path / "m.npz"
    save(net, path)
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError):
        save(net, path)
    assert path.read_bytes() == before  # the old file is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_metadata_must_be_json(tmp_path):
    with pytest.raises(ValueError, match="JSON"):
        save(make_net(), tmp_path / "m.npz", extra=object())


def test_class_names_must_match_outputs(tmp_path):
    with pytest.raises(ValueError, match="one name per class"):
        save(make_net(), tmp_path / "m.npz", class_names=["a"])


# ---------------------------------------------------------------- malformed files


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        load(tmp_path / "nope.npz")


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(ModelFileError, match="is a folder"):
        load(tmp_path)


def test_not_a_zip(tmp_path):
    p = tmp_path / "m.npz"
    p.write_text("hello")
    with pytest.raises(ModelFileError, match="not a model file: a backprop model is a .npz"):
        load(p)


def test_a_pickle_is_refused_without_being_unpickled(tmp_path):
    import pickle  # writing one only, to prove it is never loaded

    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('unpickled!')",))

    p = tmp_path / "model.npz"
    p.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(ModelFileError, match="not a model file"):
        load(p)


def test_truncated_file(saved):
    _, _, path = saved
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="not a readable model file"):
        load(path)


def test_single_npy_file(tmp_path):
    p = tmp_path / "m.npy"
    np.save(p, np.zeros(3))
    with pytest.raises(ModelFileError, match="single .npy"):
        load(p)


def test_pickled_object_array_is_refused(saved):
    _, _, path = saved
    arrays = arrays_of(path)
    arrays["W1"] = np.array([{"evil": 1}], dtype=object)
    np.savez(path, **arrays)  # allow_pickle is on for saving
    with pytest.raises(ModelFileError, match="never unpickles"):
        load(path)


def test_no_metadata(saved):
    _, _, path = saved
    arrays = arrays_of(path)
    del arrays[METADATA_KEY]
    rewrite(path, arrays)
    with pytest.raises(ModelFileError, match="not a backprop model file"):
        load(path)


def test_metadata_not_json(saved):
    _, _, path = saved
    arrays = arrays_of(path)
    arrays[METADATA_KEY] = np.frombuffer(b"{not json", dtype=np.uint8)
    rewrite(path, arrays)
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load(path)


def test_metadata_wrong_dtype(saved):
    _, _, path = saved
    arrays = arrays_of(path)
    arrays[METADATA_KEY] = arrays[METADATA_KEY].astype(np.int32)
    rewrite(path, arrays)
    with pytest.raises(ModelFileError, match="dtype int32"):
        load(path)


def _edit_meta(path, edit=None, **changes):
    """Rewrite the file's metadata with ``changes`` and ``edit(meta)`` applied."""
    arrays = arrays_of(path)
    meta = json.loads(arrays[METADATA_KEY].tobytes())
    meta.update(changes)
    if edit is not None:
        edit(meta)
    arrays[METADATA_KEY] = meta_blob(meta)
    rewrite(path, arrays)


def test_other_format(saved):
    _, _, path = saved
    _edit_meta(path, format="something-else")
    with pytest.raises(ModelFileError, match="expected 'backprop-model'"):
        load(path)


def test_unknown_version(saved):
    _, _, path = saved
    _edit_meta(path, version=99)
    with pytest.raises(ModelFileError, match="version 99 is not supported"):
        load(path)


def test_missing_array(saved):
    _, _, path = saved
    arrays = arrays_of(path)
    del arrays["b2"]
    rewrite(path, arrays)
    with pytest.raises(ModelFileError, match="missing parameter array.*b2"):
        load(path)


def test_unexpected_array(saved):
    _, _, path = saved
    arrays = arrays_of(path)
    arrays["W9"] = np.zeros(2, np.float32)
    rewrite(path, arrays)
    with pytest.raises(ModelFileError, match="unexpected array.*W9"):
        load(path)


def test_wrong_shape(saved):
    _, _, path = saved
    arrays = arrays_of(path)
    arrays["W1"] = arrays["W1"].T.copy()
    rewrite(path, arrays)
    with pytest.raises(ModelFileError, match=r"W1 has shape \(6, 5\), expected \(5, 6\)"):
        load(path)


def test_wrong_dtype(saved):
    _, _, path = saved
    arrays = arrays_of(path)
    arrays["b1"] = arrays["b1"].astype(np.float64)
    rewrite(path, arrays)
    with pytest.raises(ModelFileError, match="b1 has dtype float64, expected float32"):
        load(path)


def test_non_finite_weights(saved):
    _, _, path = saved
    arrays = arrays_of(path)
    arrays["W2"][0, 0] = np.nan
    rewrite(path, arrays)
    with pytest.raises(ModelFileError, match="NaN"):
        load(path)


def test_bad_sizes(saved):
    _, _, path = saved
    _edit_meta(path, lambda m: m["network"].update(sizes=[6, "x", 3]))
    with pytest.raises(ModelFileError, match="sizes"):
        load(path)


def test_bad_activation_in_metadata(saved):
    _, _, path = saved
    _edit_meta(path, lambda m: m["network"].update(activation=["nonsense"]))
    with pytest.raises(ModelFileError, match="network description is invalid"):
        load(path)


def test_preprocessor_feature_mismatch(saved):
    _, _, path = saved
    _edit_meta(path, lambda m: m["preprocessor"].update(
        input_shape=[3, 3], mean=[0.0] * 9, std=[1.0] * 9))
    with pytest.raises(ModelFileError, match="9 features but the network takes 6"):
        load(path)


def test_file_has_only_arrays_and_json(saved):
    """Independent of np.load: every member of the zip is a .npy with a non-object dtype."""
    _, _, path = saved
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            header = zf.read(name)[:200]
            assert name.endswith(".npy")
            arr = np.lib.format.read_array(io.BytesIO(zf.read(name)), allow_pickle=False)
            assert arr.dtype != object, header


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_files_written_respect_the_umask(tmp_path, umask):
    """model.npz, a safetensors export and an ONNX export get 0o666 & ~umask, like open()."""
    import os
    import stat

    from backprop.model import safetensors
    from backprop.model.export import export_onnx
    from backprop.model.model import Model

    model = Model(make_net())
    old = os.umask(umask)
    try:
        written = [model.save(tmp_path / "m.npz"),
                   safetensors.save(model, tmp_path / "m.safetensors"),
                   export_onnx(model, tmp_path / "m.onnx")]
        with open(tmp_path / "plain", "w"):
            pass
    finally:
        os.umask(old)
    expected = stat.S_IMODE((tmp_path / "plain").stat().st_mode)
    assert expected == 0o666 & ~umask
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == expected, path


def test_safetensors_round_trip_and_layout(saved, tmp_path):
    """The file follows the safetensors layout: u64 header length, JSON, row-major tensors."""
    import struct

    from backprop.model import safetensors

    net, pre, path = saved
    model = load(path)
    out = safetensors.save(model, tmp_path / "m.safetensors")
    raw = out.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8: 8 + n])
    assert n % 8 == 0 and set(header) == {"__metadata__", "W1", "b1", "W2", "b2"}
    for name, a in zip(net.param_names(), net.params()):
        spec = header[name]
        lo, hi = spec["data_offsets"]
        assert spec["dtype"] == "F32" and spec["shape"] == list(a.shape)
        got = np.frombuffer(raw[8 + n + lo: 8 + n + hi], dtype="<f4").reshape(a.shape)
        assert np.array_equal(got, a)
    again = load(out)
    X = np.random.default_rng(2).random((5, 2, 3))
    assert np.array_equal(again.predict_proba(X), model.predict_proba(X))
    assert again.class_names == ["a", "b", "c"]


def test_a_model_file_written_before_image_steps_loads_with_mnist_steps(sample_model, tmp_path):
    """Old files have no "image" key: a square input gets the MNIST steps predict used then."""
    from backprop.data.images import ImageSteps

    path, ds = sample_model
    old = tmp_path / "old.npz"
    arrays = arrays_of(path)
    meta = json.loads(arrays[METADATA_KEY].tobytes())
    del meta["image"]
    arrays[METADATA_KEY] = meta_blob(meta)
    rewrite(old, arrays)
    model = load(old)
    assert model.image == ImageSteps("mnist", (28, 28), box=20)
    grey = 1.0 - ds.X_test[:3] / 255.0  # dark digits on light paper
    for g in grey:
        assert model.predict_image(g)["label"] == load(path).predict_image(g)["label"]
    assert np.array_equal(model.predict(ds.X_test[:50]), load(path).predict(ds.X_test[:50]))


def test_colour_image_steps_round_trip(tmp_path):
    """A model of 2x2 colour images keeps its (2, 2, 3) steps, and an image file read with
    them gives the network the file's RGB values, row-major, R G B a pixel."""
    from PIL import Image

    from backprop.data.images import ImageSteps
    from backprop.model.model import Model

    rgb = np.array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [10, 20, 30]]], np.uint8)
    X = np.stack([rgb, 255 - rgb])
    pre = Preprocessor("unit").fit(X)
    net = backprop.Network([12, 4, 2], seed=1)
    path = tmp_path / "colour.npz"
    Model(net, pre, ["x", "y"], ImageSteps("plain", (2, 2, 3))).save(path)
    model = load(path)
    assert model.image == ImageSteps("plain", (2, 2, 3)) and model.image.channels == 3
    assert json.loads(arrays_of(path)[METADATA_KEY].tobytes())["image"]["shape"] == [2, 2, 3]
    Image.fromarray(rgb, "RGB").save(tmp_path / "rgb.png")
    out = model.predict_image(tmp_path / "rgb.png")
    assert np.array_equal(out["picture"], rgb)
    assert np.allclose(out["probabilities"], model.predict_proba(rgb[None])[0])
    assert np.allclose(model.transform(rgb[None])[0], [1, 0, 0, 0, 1, 0, 0, 0, 1,
                                                        10 / 255, 20 / 255, 30 / 255])

