"""The engine: layers, activations, losses, the network, its optimisers and training loop.

Third-party dependency: NumPy only (``tests/test_layout.py`` imports every module
with every other third-party package blocked); ``blas`` reaches NumPy's own
OpenBLAS through the standard library's :mod:`ctypes` and falls back to NumPy
without it.  From the rest of ``backprop`` it imports only ``backprop.errors`` and
``backprop.config`` (the declaration of the training settings, itself standard
library only).  Everything else in ``backprop`` (data, model files, the command
line, the page) is built on top of it.

The reference and the fast path: ``network.Network.backward`` and
``optim.*.step`` are the equations, one line each; ``fused`` is the same step as
the training loop runs it, tested to agree (``tests/test_fused.py``).
"""
