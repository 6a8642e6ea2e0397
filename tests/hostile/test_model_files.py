"""Hostile model files, checkpoints and run folders, given to predict, evaluate, export, serve
and report as a user would: each is refused in a line or two, exit code 2, within the memory
limit, nothing executed, nothing touched."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from hostile_models import (
    assert_safetensors_round_trip,
    blob,
    good_model,
    members_of_good,
    npy_header,
    npz_bytes,
    parts,
    png_bytes,
    predict_refuses,
    safetensors_bytes,
    safetensors_parts,
    spoiled,
    zip_bomb,
    zip_bytes,
)

# ------------------------------------------------------------------ code and containers


def test_a_pickle_named_model_npz_is_never_unpickled(case):
    predict_refuses(case, case.payload(), "not a model file")


def test_an_object_array_holding_a_pickle_is_never_unpickled(case):
    from harness import payload_array

    arrays, meta = parts()
    arrays["W1"] = payload_array(case.marker)
    predict_refuses(case, npz_bytes(arrays, meta), "never unpickles")


def test_a_pickle_inside_the_metadata_member(case):
    from harness import payload_array

    arrays, _ = parts()
    predict_refuses(case, npz_bytes({**arrays, "metadata": payload_array(case.marker)}),
                    "never unpickles")


def test_a_zip_bomb_is_refused_by_its_directory(case):
    bomb = zip_bomb(case.path("model.npz"))
    assert bomb.stat().st_size < 2 * 2**20
    case.write("digit.png", png_bytes(np.full((28, 28), 255, np.uint8)))
    r = case.run(["predict", "model.npz", "digit.png"])
    case.assert_refused(r, must_mention=["model.npz", "compression ratio", "limit"])


def test_thousands_of_members(case):
    data = zip_bytes({f"a{i}.npy": b"" for i in range(3000)})
    predict_refuses(case, data, "3,000 members", "limit")


@pytest.mark.parametrize("name", ["../evil.npy", "/etc/evil.npy", "sub/W1.npy", "W1.txt"])
def test_member_names_that_are_not_arrays(case, name):
    members = members_of_good()
    members[name] = members.pop("W1.npy")
    predict_refuses(case, zip_bytes(members), "not an array name")
    assert not (case.dir.parent / "evil.npy").exists()


def test_a_member_twice(case):
    members = members_of_good()
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, d in members.items():
            zf.writestr(n, d)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            zf.writestr("W1.npy", members["W1.npy"])
    predict_refuses(case, buf.getvalue(), "twice")


def test_an_unsupported_compression_method(case):
    predict_refuses(case, zip_bytes(members_of_good(), zipfile.ZIP_LZMA), "compression method")


def test_a_header_claiming_tebibytes(case):
    members = members_of_good()
    members["W1.npy"] = npy_header((2**20, 2**20), "<f8") + b"\0" * 64
    predict_refuses(case, zip_bytes(members), "W1", "limit")


def test_a_header_claiming_more_than_the_member_holds(case):
    members = members_of_good()
    members["W1.npy"] = npy_header((16, 784)) + b"\0" * 100
    predict_refuses(case, zip_bytes(members), "W1", "damaged")


def test_a_structured_dtype(case):
    members = members_of_good()
    members["b1.npy"] = npy_header((16,), "[('a', '<f4')]") + b"\0" * 64
    predict_refuses(case, zip_bytes(members), "b1")


def test_padded_metadata_over_the_limit(case):
    arrays, meta = parts()
    text = json.dumps(meta) + " " * (3 * 2**20)
    r = predict_refuses(case, npz_bytes(arrays, text), "metadata", "limit",
                        env={"BACKPROP_MAX_METADATA_BYTES": str(2**20)})
    assert "BACKPROP_MAX_METADATA_BYTES" in r.stderr


def test_all_arrays_over_the_total_limit(case):
    predict_refuses(case, good_model(), "limit", env={"BACKPROP_MAX_MODEL_BYTES": "1000"})


def test_a_zip64_directory_claiming_billions_of_members(case):
    import struct

    data = bytearray(good_model())
    at = data.rfind(b"PK\x05\x06")
    record = struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, 2**40, 2**40, 0, 0)
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, len(data[:at]), 1)
    eocd = bytearray(data[at:])
    eocd[8:12] = b"\xff\xff\xff\xff"
    forged = bytes(data[:at]) + record + locator + bytes(eocd)
    predict_refuses(case, forged, "members", "limit")


# ------------------------------------------------------------------ damaged files


@pytest.mark.parametrize("data, mention", [
    (b"", "not a model file"),
    (b"hello, world", "not a model file"),
    (b"PK\x03\x04" + b"\0" * 40, "zip directory"),
    (b"\x93NUMPY\x01\x00" + b"\0" * 100, "single .npy"),
])
def test_files_that_are_not_model_files(case, data, mention):
    predict_refuses(case, data, mention)


def test_a_truncated_model_file(case):
    data = good_model()
    predict_refuses(case, data[: len(data) // 2], "truncated")


def test_a_model_file_with_a_flipped_byte(case):
    data = bytearray(good_model())
    data[len(data) // 3] ^= 0xFF  # inside W1's data: the CRC no longer matches
    predict_refuses(case, bytes(data), "model.npz")


def test_a_folder_instead_of_a_model(case):
    (case.dir / "run").mkdir()
    case.write("digit.png", png_bytes(np.full((28, 28), 255, np.uint8)))
    r = case.run(["predict", "run", "digit.png"])
    case.assert_refused(r, must_mention=["run", "folder"])


def test_a_model_that_does_not_exist(case):
    r = case.run(["evaluate", "nothere.npz"])
    case.assert_refused(r, must_mention=["nothere.npz", "does not exist"])


def test_a_checkpoint_given_as_a_model(case):
    arrays, _ = parts()
    doc = {"format": "backprop-checkpoint", "version": 1, "n_params": 4, "state": {}, "meta": {}}
    data = npz_bytes({f"param_{i}": a for i, a in enumerate(arrays.values())}
                     | {"checkpoint": blob(doc)})
    predict_refuses(case, data, "checkpoint", name="checkpoint.npz")


# ------------------------------------------------------------------ metadata


@pytest.mark.parametrize("edit, mention", [
    (lambda m: m.pop("network"), "lacks sizes"),
    (lambda m: m["network"].pop("activation"), "lacks activation"),
    (lambda m: m["network"].pop("output"), "lacks output"),
    (lambda m: m.update(format="something-else"), "expected 'backprop-model'"),
    (lambda m: m.update(version=99), "version 99"),
    (lambda m: m.update(version="9" * 400), "is not supported"),
    (lambda m: m["network"].update(sizes=[784, 10**30, 10]), "sizes"),
    (lambda m: m["network"].update(sizes=[784, -16, 10]), "sizes"),
    (lambda m: m["network"].update(sizes="784-16-10"), "sizes"),
    (lambda m: m["network"].update(dtype="object"), "dtype"),
    (lambda m: m["network"].update(activation=["os.system"]), "invalid"),
    (lambda m: m["network"].update(evil=1), "invalid"),
    (lambda m: m.update(class_names=["0", "1", "2"]), "3 names"),
    (lambda m: m.update(class_names=[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), "list of strings"),
    (lambda m: m["preprocessor"].update(max_value=float("nan")), "input statistics"),
    (lambda m: m["preprocessor"].update(max_value=float("inf")), "input statistics"),
    (lambda m: m["preprocessor"].update(scale="standard", mean=[float("nan")] * 784,
                                        std=[1.0] * 784), "input statistics"),
    (lambda m: m["preprocessor"].update(scale="standard", mean=[0.0] * 784,
                                        std=[0.0] * 784), "input statistics"),
    (lambda m: m["preprocessor"].update(input_shape=[100000, 100000]), "features"),
    (lambda m: m["preprocessor"].update(input_shape="x"), "input scaling"),
    (lambda m: m.update(preprocessor=[1, 2]), "preprocessor"),
    (lambda m: m.update(image={"kind": "evil", "shape": [28, 28]}), "image steps"),
    (lambda m: m.update(image={"kind": "mnist", "shape": [10**9, 10**9]}), "image shape"),
    (lambda m: m.update(image={"kind": "plain", "shape": [20, 20]}), "784 inputs"),
    (lambda m: m.update(train_config="evil"), "train_config"),
])
def test_metadata_that_does_not_describe_the_model(case, edit, mention):
    predict_refuses(case, spoiled(edit), mention)


@pytest.mark.parametrize("image, mention", [
    ({"kind": "plain", "shape": [28, 28, 4]}, ["(28, 28, 4)", "3 channels (RGB) for colour"]),
    ({"kind": "plain", "shape": [28, 28, 3, 1]}, ["(28, 28, 3, 1)", "3 channels (RGB)"]),
    ({"kind": "plain", "shape": [28, 28, 10**9]}, ["3 channels (RGB)"]),
    ({"kind": "mnist", "shape": [28, 28, 3]}, ["(28, 28, 3)", "colour images take plain steps"]),
    ({"kind": "plain", "shape": [28, 28, 3]}, ["(28, 28, 3)", "784 inputs"]),
])
def test_colour_image_steps_that_do_not_describe_the_model(case, image, mention):
    """The image steps' channel count is 3 (RGB) or none, and must give the network's inputs."""
    predict_refuses(case, spoiled(lambda m: m.update(image=image)), *mention)


def test_metadata_that_is_not_json(case):
    arrays, _ = parts()
    predict_refuses(case, npz_bytes(arrays, b"{not json"), "not valid JSON")


def test_metadata_nested_a_hundred_thousand_deep(case):
    arrays, _ = parts()
    predict_refuses(case, npz_bytes(arrays, "[" * 100000 + "]" * 100000), "metadata")


def test_metadata_that_is_not_utf8(case):
    arrays, _ = parts()
    predict_refuses(case, npz_bytes(arrays, b'{"format": "\xff\xfe"}'), "not valid JSON")


# ------------------------------------------------------------------ arrays


@pytest.mark.parametrize("edit, mention", [
    (lambda a: a["W2"].__setitem__((0, 0), np.nan), "NaN"),
    (lambda a: a["b1"].__setitem__(0, np.inf), "NaN or infinite"),
    (lambda a: a.update(W1=a["W1"].astype(np.float64)), "dtype float64"),
    (lambda a: a.update(W1=a["W1"].astype(np.int64)), "dtype int64"),
    (lambda a: a.update(W1=a["W1"].T.copy()), "shape"),
    (lambda a: a.pop("b2"), "missing"),
    (lambda a: a.update(W3=np.zeros(3, np.float32)), "unexpected"),
    (lambda a: a.update(W1=np.float32(1.0)), "shape"),
])
def test_arrays_that_do_not_fit_the_metadata(case, edit, mention):
    predict_refuses(case, spoiled(edit_arrays=edit), mention)


# ------------------------------------------------------------------ safetensors


def _st_good() -> tuple[dict, bytes]:
    return safetensors_parts(*parts())


def test_safetensors_header_length_of_a_tebibyte(case):
    header, data = _st_good()
    predict_refuses(case, safetensors_bytes(header, data, length=2**40), "header", "limit",
                    name="model.safetensors")


def test_safetensors_tensor_claiming_a_huge_shape(case):
    header, data = _st_good()
    header["W1"]["shape"] = [2**30, 2**30]
    predict_refuses(case, safetensors_bytes(header, data), "W1", "limit",
                    name="model.safetensors")


def test_safetensors_overlapping_offsets(case):
    header, data = _st_good()
    header["b1"]["data_offsets"] = header["W1"]["data_offsets"][:1] + [
        header["W1"]["data_offsets"][0] + 64]
    predict_refuses(case, safetensors_bytes(header, data), "model.safetensors",
                    name="model.safetensors")


def test_safetensors_without_backprop_metadata(case):
    header, data = _st_good()
    del header["__metadata__"]
    predict_refuses(case, safetensors_bytes(header, data), "metadata", name="model.safetensors")


def test_safetensors_with_an_unknown_dtype(case):
    header, data = _st_good()
    header["W1"]["dtype"] = "O"
    predict_refuses(case, safetensors_bytes(header, data), "dtype", name="model.safetensors")


def test_safetensors_export_and_load_round_trip(case):
    """The good case: export, then predict from the .safetensors file gives the same answer."""
    assert_safetensors_round_trip(case, good_model())


# ------------------------------------------------------------------ every command that loads


@pytest.mark.parametrize("command", [
    ["evaluate", "model.npz"],
    ["export", "model.npz", "--safetensors", "out.safetensors"],
    ["export", "model.npz", "--onnx", "out.onnx"],
    ["serve", "model.npz", "--port", "0"],
])
def test_every_command_refuses_a_bomb(case, command):
    zip_bomb(case.path("model.npz"))
    r = case.run(command)
    case.assert_refused(r, must_mention=["model.npz", "limit"])


@pytest.mark.parametrize("command", [
    ["evaluate", "model.npz"],
    ["export", "model.npz", "--safetensors", "out.safetensors"],
    ["serve", "model.npz", "--port", "0"],
])
def test_every_command_refuses_short_class_names(case, command):
    case.write("model.npz", spoiled(lambda m: m.update(class_names=["a"])))
    r = case.run(command)
    case.assert_refused(r, must_mention=["model.npz", "1 names"])


# ------------------------------------------------------------------ evaluate on other data


def test_evaluate_on_data_with_another_input_size(case):
    case.write("model.npz", good_model())
    r = case.run(["evaluate", "model.npz", "--dataset", "xor"])
    case.assert_refused(r, must_mention=["xor", "model.npz", "features"])


def _three_classes(case, **extra) -> None:
    """three.npz: 30 random 28×28 images of labels 0, 1, 2 (train and test), and model.npz."""
    import io

    X = np.random.default_rng(0).integers(0, 256, size=(30, 28, 28), dtype=np.uint8)
    y = np.arange(30) % 3
    buf = io.BytesIO()
    np.savez(buf, X=X, y=y, X_test=X, y_test=y, **extra)
    case.write("three.npz", buf.getvalue())
    case.write("model.npz", good_model())


def test_evaluate_on_data_with_other_classes(case):
    _three_classes(case, class_names=np.array(["cat", "dog", "cow"]))
    r = case.run(["evaluate", "model.npz", "--data-dir", "three.npz"])
    case.assert_refused(r, must_mention=["cat, dog, cow", "not trained on", "[0, 1, 2, 3, 4, 5"])


def test_evaluate_on_some_of_the_models_classes(case):
    """Digits 0, 1 and 2 only: the model's classes by name, scored (the others have no support)."""
    _three_classes(case)
    r = case.run(["evaluate", "model.npz", "--data-dir", "three.npz", "--json"])
    assert r.rc == 0, r
    m = json.loads(r.stdout)
    assert m["n"] == 30 and [c["support"] for c in m["per_class"]] == [10, 10, 10] + [0] * 7
    case.assert_harmless()


# ------------------------------------------------------------------ report


def _run_folder(case, history) -> None:
    case.write("run/model.npz", good_model())
    text = history if isinstance(history, str) else json.dumps(history)
    case.write("run/history.json", text)


@pytest.mark.parametrize("history, mention", [
    ({}, "records"),
    ({"records": "lots"}, "records"),
    ({"records": [{"epoch": 1}]}, "loss"),
    ({"records": [{"epoch": 1, "loss": "low", "acc": 0.5}]}, "loss"),
    ({"records": [{"epoch": 1, "loss": 0.1, "acc": 0.5, "val_loss": [1]}]}, "val_loss"),
    ({"records": [7]}, "record 1"),
    ({"records": [], "best_epoch": "x"}, "best_epoch"),
    ("[" * 100000, "not a JSON"),
    ("not json", "not a JSON"),
])
def test_report_on_a_history_without_the_expected_keys(case, history, mention):
    _run_folder(case, history)
    r = case.run(["report", "run"])
    case.assert_refused(r, must_mention=["history.json", mention])


def test_report_on_a_run_folder_with_a_hostile_model(case):
    case.write("run/history.json", json.dumps({"records": []}))
    case.write("run/model.npz", case.payload())
    r = case.run(["report", "run"])
    case.assert_refused(r, must_mention=["model.npz"])


# ------------------------------------------------------------------ checkpoints given to --resume


def _interrupted_run(case) -> None:
    """A run folder as an interrupted run leaves it: config.toml, history.json, no model."""
    r = case.run(["train", "--dataset", "xor", "--epochs", "1", "--validation-split", "0",
                  "--augment", "none", "--out", "run", "--quiet", "--no-report"])
    assert r.rc in (0, 3), r  # 3: trained but learnt nothing (XOR in one epoch)
    (case.dir / "run" / "model.npz").unlink()


@pytest.mark.parametrize("make, mention", [
    (lambda case: case.payload(), "checkpoint.npz"),
    (lambda case: zip_bytes({"checkpoint.npy": npy_header((2**40,), "|u1")}), "limit"),
    (lambda case: npz_bytes({"param_0": np.zeros(3, np.float32)}), "checkpoint"),
    (lambda case: npz_bytes({"param_0": np.zeros(3, np.float32),
                             "checkpoint": blob({"format": "backprop-checkpoint", "version": 1,
                                                 "n_params": 10**9, "state": {}})}),
     "parameter count"),
    (lambda case: npz_bytes({"param_0": np.zeros(3, np.float32),
                             "checkpoint": blob("[" * 100000 + "]" * 100000)}),
     "checkpoint"),
])
def test_a_hostile_checkpoint_given_to_resume(case, make, mention):
    _interrupted_run(case)
    case.write("run/checkpoint.npz", make(case))
    r = case.run(["train", "--resume", "run"])
    case.assert_refused(r, must_mention=[mention])
