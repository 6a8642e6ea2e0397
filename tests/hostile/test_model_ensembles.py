"""Hostile ensemble model files (``"members"`` > 1, arrays ``m1.W1``, ...), given to predict,
evaluate and export as a user would: each is refused in a line or two, exit code 2, naming the
file and the value; the good ensemble works and survives a safetensors round trip."""

from __future__ import annotations

import numpy as np
import pytest
from hostile_models import (
    assert_safetensors_round_trip,
    npz_bytes,
    parts,
    predict_refuses,
)
from hostile_models import spoiled as _spoiled


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
    return _spoiled(edit_meta, edit_arrays, make=ensemble_parts)


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
    from hostile_models import safetensors_bytes, safetensors_parts

    arrays, meta = ensemble_parts(2)
    del arrays["m1.b2"]
    predict_refuses(case, safetensors_bytes(*safetensors_parts(arrays, meta)), "missing",
                    "m1.b2", name="model.safetensors")


def test_the_good_ensemble_predicts_and_round_trips_through_safetensors(case):
    """The good case: an ensemble file predicts; its safetensors export predicts the same."""
    assert_safetensors_round_trip(case, npz_bytes(*ensemble_parts()))
