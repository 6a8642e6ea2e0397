"""``backprop serve``: the draw-a-digit page and its local HTTP server."""

from backprop.serve.server import make_server

__all__ = ["make_server"]
