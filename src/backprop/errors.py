"""Exceptions raised by backprop.

Every error a user can cause is an exception whose message names the file or
argument, the offending value and the fix.  The command line turns them into
one sentence on stderr and exit code 2.
"""

from __future__ import annotations


class BackpropError(Exception):
    """Base class of every error backprop raises on purpose."""


class DataError(BackpropError, ValueError):
    """A data file or data set is missing, malformed or cannot be fetched."""


class ModelFileError(BackpropError, ValueError):
    """A model file is malformed, of an unknown version, or not a model file."""


class TrainingDiverged(BackpropError, FloatingPointError):
    """The loss became NaN or infinite during training."""
