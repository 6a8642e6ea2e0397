"""Fixtures of the hostile-input catalogue (see ``harness.py``)."""

from __future__ import annotations

import pytest
from harness import Case


@pytest.fixture
def case(tmp_path) -> Case:
    """A fresh case folder; ``case.run([...])`` runs ``backprop`` there, ``case.assert_refused``
    judges the result."""
    return Case(tmp_path)
