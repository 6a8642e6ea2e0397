"""`backprop gradcheck`: backward() against central differences, per parameter array."""

from __future__ import annotations

import argparse

#: Largest relative error that passes (float64, h = 1e-6).
THRESHOLD = 1e-7
#: Bounds of a check: samples in the batch, and weights in the network (float64).
MAX_SAMPLES = 10_000
MAX_WEIGHTS = 10_000_000


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of layer sizes (e.g. 784,30,10)"
        ) from None
    if len(sizes) < 2 or any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(
            f"--layers needs at least two sizes ≥ 1 (inputs,...,outputs), got {text!r}"
        )
    return sizes


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "gradcheck",
        help="check backpropagation's gradients against finite differences",
        description=(
            "Build a network with random weights, compute the gradient of the cost on random "
            "data with backward() and with central differences in float64, and print the "
            f"relative error per parameter array; each passes at ≤ {THRESHOLD:g}. Exit code 1 "
            "when any fails."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--layers", type=_sizes, default=[784, 30, 10], metavar="N,N,...",
                   help="layer sizes, inputs first")
    p.add_argument("--activation", default="sigmoid", help="hidden activation")
    p.add_argument("--output", default=None, help="output activation (default softmax, or "
                   "sigmoid for one unit)")
    p.add_argument("--loss", default=None, help="loss (default: matches the output)")
    p.add_argument("--batch-norm", action="store_true",
                   help="batch-normalise the hidden layers (checks γ and (B1)-(B4) too)")
    p.add_argument("--l1", type=float, default=0.0, help="L1 penalty")
    p.add_argument("--l2", type=float, default=0.0, help="L2 penalty")
    p.add_argument("--samples", type=int, default=10,
                   help=f"random samples in the batch (1..{MAX_SAMPLES:,})")
    p.add_argument("--max-entries", type=int, default=50,
                   help="entries checked per array (0: all; slow for big layers)")
    p.add_argument("--seed", type=int, default=0, help="seed of weights, data and entries")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from backprop.engine.gradcheck import gradient_check
    from backprop.engine.network import Network

    if not 1 <= args.samples <= MAX_SAMPLES:
        raise ValueError(
            f"--samples must be 1..{MAX_SAMPLES:,} (a gradient check needs a small batch), "
            f"got {args.samples:,}"
        )
    weights = sum((a + 1) * b for a, b in zip(args.layers, args.layers[1:]))
    if weights > MAX_WEIGHTS:
        raise ValueError(
            f"--layers {','.join(map(str, args.layers))} has {weights:,} weights; a gradient "
            f"check takes at most {MAX_WEIGHTS:,}, use smaller layers"
        )
    if args.max_entries < 0:
        raise ValueError(f"--max-entries must be ≥ 0 (0 checks all), got {args.max_entries}")
    net = Network(args.layers, activation=args.activation, output=args.output, loss=args.loss,
                  dtype="float64", seed=args.seed, batch_norm=args.batch_norm)
    rng = np.random.default_rng(args.seed + 1)
    X = rng.random((args.samples, args.layers[0]))
    k = args.layers[-1]
    if net.layers[-1].activation.name == "softmax" or k > 1 and net.loss.name != "mse":
        Y = np.eye(k)[rng.integers(0, k, args.samples)]
    else:
        Y = rng.random((args.samples, k))
    errors = gradient_check(net, X, Y, l1=args.l1, l2=args.l2,
                            max_entries=args.max_entries or None, seed=args.seed)
    print(f"{net}  l1={args.l1:g} l2={args.l2:g}  {args.samples} samples, float64, h=1e-6")
    print(f"{'array':<7}{'shape':<14}{'checked':>9}{'rel. error':>13}  verdict")
    params = dict(zip(net.param_names(), net.params()))
    worst = 0.0
    for name, err in errors.items():
        p = params[name]
        checked = p.size if not args.max_entries else min(p.size, args.max_entries)
        verdict = "ok" if err <= THRESHOLD else "FAIL"
        worst = max(worst, err)
        print(f"{name:<7}{str(p.shape):<14}{checked:>9}{err:>13.2e}  {verdict}")
    if worst <= THRESHOLD:
        print(f"PASS: every relative error ≤ {THRESHOLD:g} (worst {worst:.2e})")
        return 0
    print(f"FAIL: worst relative error {worst:.2e} > {THRESHOLD:g}; backward() disagrees with "
          "the finite differences")
    return 1
