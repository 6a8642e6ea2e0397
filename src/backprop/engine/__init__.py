"""The engine: layers, activations, losses, the network, its optimisers and training loop.

NumPy only (``tests/test_layout.py`` imports it with every other third-party
package blocked). Everything else in ``backprop`` (data, model files, the
command line, the page) is built on top of it.
"""
