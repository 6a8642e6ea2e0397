"""Ensembles: ``k`` networks of one architecture whose class probabilities are averaged.

``TrainConfig.ensemble = k`` (``backprop train --ensemble k``) trains ``k``
networks one after another, each for ``cfg.epochs`` epochs, on the same
training and validation data (the validation split and the input scaling
come from ``cfg.seed``, as for one network).  Member ``i`` is built and
trained with seed ``cfg.seed + i`` (its initial weights, shuffles, dropout
masks and distortions), so member 0 is exactly the network a plain run with
the same settings trains, bit for bit.  The model
(:class:`backprop.model.model.Model` with ``members``) predicts the mean of
the members' class probabilities; one model file holds them all
(``docs/model-files.md``).

:func:`fit_ensemble` is the Python form; ``backprop train`` runs the same
steps with progress, a time budget and a run folder (``backprop.cli.ensemble``).

>>> from backprop.config import TrainConfig
>>> from backprop.ensemble import fit_ensemble
>>> cfg = TrainConfig(hidden=[8], epochs=3, ensemble=3, validation_split=0.0)
>>> nets, histories = fit_ensemble(cfg, X, y, n_classes=10)            # doctest: +SKIP
>>> Model(nets[0], pre, members=nets).predict(X_raw)                     # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from backprop.config import TrainConfig, build_network
from backprop.engine.history import Callback, History
from backprop.engine.network import Network

__all__ = ["average_proba", "fit_ensemble", "member_config", "member_network"]

#: Seeds wrap around here (``TrainConfig.seed`` is at most 2**32 - 1).
SEED_MODULUS = 2**32


def member_config(cfg: TrainConfig, i: int) -> TrainConfig:
    """Member ``i``'s settings: ``seed`` + i (mod 2**32) and ``ensemble`` 1.

    Member 0's are ``cfg`` with ``ensemble = 1``: a ``Trainer`` takes them.
    """
    return cfg.updated("ensemble member", seed=(cfg.seed + i) % SEED_MODULUS, ensemble=1)


def member_network(cfg: TrainConfig, i: int, n_in: int, n_out: int,
                   start: Any = None) -> Network:
    """Member ``i``'s untrained network, seeded by ``cfg.seed + i``.

    Parameters
    ----------
    cfg : TrainConfig
        The run's settings (``ensemble`` may be above 1).
    i : int
        The member, 0 to ``cfg.ensemble - 1``.
    n_in, n_out : int
        Input features and output units.
    start : Model, optional
        Fine-tuning (``--init-from``): member ``i`` starts from this model's
        network ``i mod n_members`` (so every member from a one-network
        model, or each from its own of an ensemble of the same size).
    """
    net = build_network(member_config(cfg, i), n_in, n_out)
    if start is not None:
        net.set_params(start.members[i % start.n_members].get_params())
    return net


def fit_ensemble(
    cfg: TrainConfig,
    X: np.ndarray,
    y: np.ndarray,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    n_classes: int,
    augment: Callable | None = None,
    callbacks: Callable[[int], Sequence[Callback]] | None = None,
    networks: Sequence[Network] | None = None,
) -> tuple[list[Network], list[History]]:
    """Train ``cfg.ensemble`` networks on scaled inputs; return them and their histories.

    Parameters
    ----------
    cfg : TrainConfig
        The settings; ``cfg.ensemble`` networks are trained, member ``i``
        with seed ``cfg.seed + i`` for ``cfg.epochs`` epochs.
    X : ndarray, shape (N, D)
        Training inputs, already scaled (``Preprocessor.transform``).
    y : ndarray, shape (N,)
        Class labels 0..n_classes-1.
    validation_data : (ndarray (M, D), ndarray (M,)), optional
        Scaled validation inputs and labels, shared by every member (early
        stopping and ``restore_best`` act per member).
    n_classes : int
        Classes: the output units, as ``build_network`` makes them.
    augment : callable(X_batch, rng) -> X_batch, optional
        Training-time augmentation, drawn from each member's own generator.
    callbacks : callable(i) -> sequence of Callback, optional
        The callbacks of member ``i``'s trainer.
    networks : sequence of Network, optional
        Networks to train instead of fresh ones (default
        :func:`member_network` for each member).

    Returns
    -------
    networks : list of Network
        Member 0 first.
    histories : list of History
    """
    from backprop.engine.train import Trainer

    nets, histories = [], []
    for i in range(cfg.ensemble):
        net = (networks[i] if networks is not None
               else member_network(cfg, i, X.shape[1], n_classes))
        trainer = Trainer(net, member_config(cfg, i), augment=augment,
                          callbacks=list(callbacks(i)) if callbacks else [])
        histories.append(trainer.fit(X, y, validation_data))
        nets.append(net)
    return nets, histories


def average_proba(nets: Sequence[Network], x: np.ndarray) -> np.ndarray:
    """The members' mean class probabilities (float64, N x K; one sigmoid unit: 2 columns)."""
    from backprop.model.model import Model

    return Model(nets[0], members=list(nets)).predict_proba(x)
