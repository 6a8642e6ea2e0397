"""`backprop serve MODEL`: the draw-a-digit page on http://127.0.0.1:8000/."""

from __future__ import annotations

import argparse
import sys
import threading


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="draw a digit in the browser and watch the network answer",
        description=(
            "Serve a page where you draw a digit with the mouse, a pen or a finger and see the "
            "model's probabilities for every class, the 28x28 image it saw (MNIST-style "
            "preprocessing, as `backprop predict` does) and its hidden-layer activations. "
            "Everything runs on this machine; the page needs no internet. JSON API: "
            "GET /api/info, POST /api/predict (see docs/serve.md). Ctrl-C stops it."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", help="a model file (RUN_DIR/model.npz)")
    p.add_argument("--port", type=int, default=8000, help="TCP port; 0 picks a free one")
    p.add_argument(
        "--host", default="127.0.0.1",
        help="address to listen on; the default is reachable from this machine only",
    )
    p.add_argument("--open", action="store_true", help="open the page in a web browser")
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from backprop.serve import make_server

    server = make_server(args.model, host=args.host, port=args.port, verbose=args.verbose)
    url = server.url
    if not server.loopback_only:
        print(
            f"backprop: warning: listening on {args.host}: anyone who can reach this machine "
            "can use the page; use --host 127.0.0.1 to keep it private",
            file=sys.stderr,
        )
        if args.host in ("0.0.0.0", "::"):
            url = f"http://127.0.0.1:{server.server_address[1]}/"
    info = server.service.info()
    print(
        f"serving {info['model']} ({'-'.join(map(str, info['sizes']))}) at {url}\n"
        "open that address in a browser and draw a digit; press Ctrl-C to stop",
        flush=True,
    )
    if args.open:
        import webbrowser

        threading.Timer(0.3, webbrowser.open, args=(url,)).start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        print("\nstopped", flush=True)
    finally:
        server.server_close()
    return 0
