"""Every entry of explain's "Where in the code" table resolves to a tagged line of code.

The truth is the source itself: each qualified name must import, and the
equation's tag must stand in the comment of a line of code of that function.
The table must cover every equation (10)-(17) and the update ΔW = -η∇, both in
the reference (Network.backward, Optimizer.step) and in the code the training
loop runs (backprop.engine.fused), and that code must be what training calls.
"""

from __future__ import annotations

import inspect

import pytest

from backprop.engine import train
from backprop.explain.coderefs import TABLE, Entry, code_refs, locate, resolve

EQUATIONS = {"10", "11", "12", "13", "14", "15", "16", "17", "ΔW"}


@pytest.mark.parametrize("entry", TABLE, ids=lambda e: f"{e.qualname}:{e.marker}")
def test_every_entry_resolves_to_a_tagged_line_of_code(entry):
    obj = resolve(entry.qualname)
    lines, start = inspect.getsourcelines(obj)
    ref = locate(entry)
    line = lines[ref.line - start]
    code, _, comment = line.partition("#")
    assert code.strip() and entry.marker in comment
    assert ref.code == line.strip()
    for eq in entry.eqs:
        if eq.isdigit():  # "(14)-(17)" stands for 14, 15, 16 and 17
            first, _, last = ref.tag.partition("-")
            assert int(first) <= int(eq) <= int(last or first)


@pytest.mark.parametrize("role", ["reference", "training"])
def test_the_table_covers_every_equation_and_the_update(role):
    covered = {eq for e in TABLE if e.role == role for eq in e.eqs}
    assert covered >= EQUATIONS


def test_the_training_entries_are_what_the_training_loop_calls():
    """Trainer.fit's step calls train_step_fused, whose updates run backward_fused."""
    from backprop.engine import fused

    assert "self._step(" in inspect.getsource(train.Trainer.fit)
    assert "train_step_fused(" in inspect.getsource(train.Trainer._step)
    updates = set(fused._UPDATES.values())
    for entry in TABLE:
        if entry.role != "training" or not entry.qualname.startswith("backprop.engine.fused."):
            continue
        obj = resolve(entry.qualname)
        assert obj is fused.backward_fused or obj in updates
    for update in updates:
        assert "backward_fused(" in inspect.getsource(update)


def test_a_missing_marker_or_name_is_an_error():
    with pytest.raises(LookupError, match="no line of code"):
        locate(Entry(("10",), "x", "backprop.engine.optim.SGD.step", "(99)", "reference"))
    with pytest.raises(LookupError, match="no attribute"):
        resolve("backprop.engine.optim.SGD.nothere")
    assert len(code_refs()) == len(TABLE)
