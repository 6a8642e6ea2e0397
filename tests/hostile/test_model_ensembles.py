"""Hostile ensemble model files (``"members"`` > 1, arrays ``m1.W1``, ...), given to predict,
evaluate and export as a user would: each is refused in a line or two, exit code 2, naming the
file and the value; the good ensemble works and survives a safetensors round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hostile_models import digit, npz_bytes, parts, png_bytes


def ensemble_parts(k: int = 3) -> tuple[dict, dict]:
    """The good model's arrays as member 0, scaled copies as members 1..k-1; version 2."""
    arrays, meta = parts()
    for i in range(1, k):
        for name, a in list(arrays.items()):
            if "." not in name:
                arrays[f"m{i}.{name}"] = (a * (1.0 + 0.1 * i)).astype(a.dtype)
    meta.update(version=2, members=k)
    return arrays, meta


def spoiled(edit_meta=None, edit_arrays=None) -> bytes:
    arrays, meta = ensemble_parts()
    if edit_meta is not None:
        edit_meta(meta)
    if edit_arrays is not None:
        edit_arrays(arrays)
    return npz_bytes(arrays, meta)


def predict_refuses(case, data: bytes, *mention, env=None):
    case.write("model.npz", data)
    case.write("digit.png", png_bytes(np.full((28, 28), 255, np.uint8)))
    r = case.run(["predict", "model.npz", "digit.png"], env=env)
    case.assert_refused(r, must_mention=["model.npz", *mention])
    return r


@pytest.mark.parametrize("members, mention", [
    (33, "33 networks"),
    (10**12, "networks, over the limit"),
    (0, "whole number"),
    (-2, "'-2'"),
    (2.5, "'2.5'"),
    ("3", "'3'"),
    (True, "'True'"),
    (None, "'None'"),
])
def test_a_member_count_that_is_not_1_to_32(case, members, mention):
    r = predict_refuses(case, spoiled(lambda m: m.update(members=members)), mention)
    if isinstance(members, int) and members > 32:
        assert "BACKPROP_MAX_ENSEMBLE" in r.stderr


def test_more_networks_than_a_lowered_limit(case):
    predict_refuses(case, spoiled(), "3 networks", "limit",
                    env={"BACKPROP_MAX_ENSEMBLE": "2"})


def test_more_networks_than_a_file_can_hold(case):
    sizes = [784] + [4] * 19 + [10]  # 3 networks x 20 layers = 120 arrays: fine; 32 x 20 not
    predict_refuses(case, spoiled(lambda m: (m.update(members=32),
                                             m["network"].update(sizes=sizes))),
                    "arrays, over the limit")


@pytest.mark.parametrize("edit, mention", [
    (lambda a: a.pop("m2.b2"), ["missing", "m2.b2", "ensemble of 3"]),
    (lambda a: a.pop("m1.W1"), ["missing", "m1.W1"]),
    (lambda a: a.update({"m1.W1": a["m1.W1"].T.copy()}), ["m1.W1", "shape"]),
    (lambda a: a.update({"m2.b1": a["m2.b1"][:-1].copy()}), ["m2.b1", "shape"]),
    (lambda a: a["m1.W2"].__setitem__((0, 0), np.nan), ["m1.W2", "NaN"]),
    (lambda a: a["m2.b1"].__setitem__(0, -np.inf), ["m2.b1", "infinite"]),
    (lambda a: a.update({"m1.W1": a["m1.W1"].astype(np.float64)}), ["m1.W1", "float64"]),
    (lambda a: a.update({"m3.W1": a["W1"].copy(), "m3.b1": a["b1"].copy()}),
     ["unexpected", "m3.W1", "members"]),
    (lambda a: a.update({"m1.W3": np.zeros(3, np.float32)}), ["unexpected", "m1.W3"]),
    (lambda a: a.update({"m0.W1": a["W1"].copy()}), ["unexpected", "m0.W1"]),
])
def test_member_arrays_that_do_not_fit_the_metadata(case, edit, mention):
    predict_refuses(case, spoiled(edit_arrays=edit), *mention)


def test_member_arrays_in_a_file_declaring_one_network(case):
    arrays, meta = ensemble_parts()
    meta.update(version=1, members=1)
    predict_refuses(case, npz_bytes(arrays, meta), "unexpected", "m1.W1")


def test_member_arrays_in_an_old_file_without_a_member_count(case):
    arrays, meta = ensemble_parts()
    meta.pop("members")
    meta["version"] = 1
    predict_refuses(case, npz_bytes(arrays, meta), "unexpected", "m1.W1")


def test_a_safetensors_ensemble_missing_a_member_tensor(case):
    from hostile_models import safetensors_bytes

    arrays, meta = ensemble_parts(2)
    del arrays["m1.b2"]
    header, data = {"__metadata__": {"backprop": json.dumps(meta)}}, b""
    for name, a in arrays.items():
        raw = a.astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape),
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    case.write("model.safetensors", safetensors_bytes(header, data))
    case.write("digit.png", png_bytes(np.full((28, 28), 255, np.uint8)))
    r = case.run(["predict", "model.safetensors", "digit.png"])
    case.assert_refused(r, must_mention=["model.safetensors", "missing", "m1.b2"])


def test_the_good_ensemble_predicts_and_round_trips_through_safetensors(case):
    """The good case: an ensemble file predicts; its safetensors export predicts the same."""
    arrays, meta = ensemble_parts()
    case.write("model.npz", npz_bytes(arrays, meta))
    case.write("seven.png", png_bytes(digit(0)))
    r = case.run(["export", "model.npz", "--safetensors", "model.safetensors"])
    assert r.rc == 0, r
    a = case.run(["predict", "model.npz", "seven.png", "--json"])
    b = case.run(["predict", "model.safetensors", "seven.png", "--json"])
    assert a.rc == b.rc == 0 and json.loads(a.stdout)[0]["top"] == json.loads(b.stdout)[0]["top"]
    case.assert_harmless(allow=("model.safetensors",))
