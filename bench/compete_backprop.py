"""Competitor: backprop itself (``Trainer`` as a user calls it)."""

from __future__ import annotations

import time

from benchlib import emit, load_data, parse_args, time_inference

from backprop import Network
from backprop.engine.train import Callback, Trainer


class EpochTimer(Callback):
    """Wall time of each epoch, shuffle included."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def on_epoch_begin(self, trainer, epoch):
        self.start = time.perf_counter()

    def on_epoch_end(self, trainer, epoch, record):
        self.seconds.append(time.perf_counter() - self.start)


def main() -> None:
    args = parse_args(__doc__)
    X, y, Xt, yt = load_data(args)
    args.n_train = len(X)
    net = Network(args.layer_sizes, activation="relu", seed=args.seed)
    timer = EpochTimer()
    trainer = Trainer(net, optimizer=args.optimizer, lr=args.lr, epochs=args.epochs,
                      batch_size=args.batch, callbacks=[timer])
    trainer.fit(X, y)
    accuracy = float((net.predict(Xt) == yt).mean())
    extra = {}
    if args.inference:
        extra = time_inference(net.predict, Xt)
    try:
        from threadpoolctl import threadpool_info

        extra["blas"] = [f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} "
                         f"{i.get('num_threads')} threads" for i in threadpool_info()]
    except ImportError:
        pass
    emit(args, timer.seconds, accuracy, extra)


if __name__ == "__main__":
    main()
