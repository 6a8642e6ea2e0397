"""Competitor: PyTorch on the CPU (``pip install -e .[bench]``), the usual training loop."""

from __future__ import annotations

import time

import torch
from benchlib import emit, load_data, parse_args, time_inference


def main() -> None:
    args = parse_args(__doc__)
    X, y, Xt, yt = load_data(args)
    args.n_train = len(X)
    torch.manual_seed(args.seed)
    sizes = args.layer_sizes
    layers: list[torch.nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    if args.optimizer == "momentum":
        opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xs, ys = torch.from_numpy(X), torch.from_numpy(y)
    seconds = []
    for _ in range(args.epochs):
        start = time.perf_counter()
        perm = torch.randperm(len(Xs))
        for b in range(0, len(Xs), args.batch):
            idx = perm[b : b + args.batch]
            xb, yb = Xs[idx], ys[idx]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
        seconds.append(time.perf_counter() - start)
    model.eval()

    def predict(x):
        with torch.no_grad():
            return model(torch.from_numpy(x)).argmax(1).numpy()

    accuracy = float((predict(Xt) == yt).mean())
    extra = {"torch_threads": torch.get_num_threads()}
    if args.inference:
        extra.update(time_inference(predict, Xt))
    emit(args, seconds, accuracy, extra)


if __name__ == "__main__":
    main()
