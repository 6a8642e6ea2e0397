"""Fit a recipe to the data it meets: training length, scale, distortions, validation.

A preset names what to train; how long, how to scale and whether to distort
the inputs, and whether a validation set can be held out depend on the data,
which the preset does not know.  :func:`adapt` settles those from the data
set's size, features and sample shape, and leaves every setting the user gave
explicitly alone:

- **Length.**  With ``time`` set, the epochs fit the time
  (``backprop.timebudget``), and ``time`` replaces ``max_time``.  With
  ``updates`` set (a budget of minibatch updates) and ``epochs`` not given,
  the run trains ``ceil(updates / batches per epoch)`` epochs, between
  :data:`MIN_EPOCHS` and :data:`MAX_EPOCHS`: 60,000 images in minibatches of
  128 get 111 epochs of 52,000 updates, 5,000 images 1,300.  ``max_time`` is
  a ceiling on those epochs, applied while training.
- **Distortions.**  Affine and elastic distortions (Simard et al. 2003) are
  for images: they apply only where every sample is a 2-D greyscale image
  with sides from :data:`MIN_SIDE` to :data:`MAX_SIDE` pixels (MNIST's 28×28).
  scikit-learn's 8×8 digits, tables and XOR train undistorted, and so do
  images on a light background (the distortions fill with black) and images
  of filled shapes rather than strokes (mean intensity :data:`STROKE_INK` or
  more: Fashion-MNIST's clothes, where the distortions cost accuracy).  In
  their place the inputs get dropout (:data:`INPUT_DROPOUT`, unless the
  recipe or the user set ``input_dropout``): the same kind of noise for any
  kind of input.  On 5-fold CV of the digits' 1,438 training samples (seeds
  0-2) it raised the held-out accuracy from 98.17 % to 98.82 %; on top of the
  affine distortions it gained nothing (98.10 and 98.28 % against 98.40 and
  98.05 % on the sample's folds, seeds 0 and 1), so it never comes with them.
- **Scale.**  A recipe's ``scale="unit"`` divides every input by one number
  (the data's largest), right for pixels and other features in one unit.
  Where a quarter or more of the features (:data:`SQUEEZED_SHARE`) never
  reach a tenth (1/:data:`SCALE_SPREAD`) of the largest |x| (wine's 1,680 mg/l
  of proline beside hues near 1), that one divisor squeezes them near 0, so
  the inputs are standardised per feature instead (``"standard"``, as
  scikit-learn advises for its MLP).  On 5-fold CV of scikit-learn's wine
  table (178 samples) that took the default from 70.8 % to 97.8 %; in MNIST,
  Fashion-MNIST and the 8×8 digits at most 5 % of the pixels are so squeezed,
  in iris and XOR none, and they keep ``"unit"`` (per-pixel standardisation
  cost the digits 1.3 points).  Images read from files (a folder) always keep
  it: their pixels share one unit however rarely some are inked (in a small
  folder whose images were resized to one size, the faint rings of the
  resampling can leave most pixels under a tenth of the brightest).
- **Validation.**  A validation fraction set by a preset is dropped when it
  would hold out nothing of some class (XOR's four points).  ``patience``
  needs a validation set: without one it would watch the training loss,
  which is not a model choice, so that is refused.

Each decision comes back as a sentence for the run to print, together with
what the run selects its model on.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "INPUT_DROPOUT", "MIN_EPOCHS", "MAX_EPOCHS", "MIN_SIDE", "MAX_SIDE", "SCALE_SPREAD",
    "SQUEEZED_SHARE", "STROKE_INK", "adapt", "ink_share", "input_decisions", "squeezed_features",
    "suits_distortions",
]

#: Fewest and most epochs an ``updates`` budget turns into.
MIN_EPOCHS, MAX_EPOCHS = 20, 2000
#: Side lengths (pixels) of the images the distortions are meant for.
MIN_SIDE, MAX_SIDE = 16, 64
#: Dropout rate of the input units that replaces distortions the data do not suit.
INPUT_DROPOUT = 0.1
#: A feature whose largest |x| is under 1/SCALE_SPREAD of the largest is squeezed
#: by one divisor; from SQUEEZED_SHARE of the features so squeezed on, they are
#: standardised instead.
SCALE_SPREAD, SQUEEZED_SHARE = 10.0, 0.25
#: Images whose mean intensity (0 = background, 1 = the brightest pixel) is
#: this or more are filled shapes, not strokes: no distortions.  Handwriting
#: is thin strokes: MNIST 0.13, EMNIST 0.17, KMNIST 0.19; Fashion-MNIST's
#: clothes 0.29.
STROKE_INK = 0.25


def suits_distortions(image_shape) -> bool:
    """Whether samples of ``image_shape`` are greyscale images the distortions suit.

    Parameters
    ----------
    image_shape : tuple of int or None
        Shape of one sample, ``(H, W)`` for a greyscale image.

    Returns
    -------
    bool
        True for 2-D shapes with both sides in [MIN_SIDE, MAX_SIDE].
    """
    if image_shape is None or len(image_shape) != 2:
        return False
    return all(MIN_SIDE <= int(s) <= MAX_SIDE for s in image_shape)


def _spread_sample(X, n: int = 1000):
    """At most ``n`` rows of ``X`` spread evenly over it (a folder's images come class by class)."""
    return X[:: max(1, len(X) // n)][:n]


def dark_background(X, image_shape) -> bool:
    """Whether the images have a dark background, as the distortions assume.

    The distortions fill what they move in from outside the image with 0, the
    background of MNIST-style images (light ink on black).  On black-on-white
    scans that fill would be ink, so they train undistorted.

    Parameters
    ----------
    X : ndarray, shape (n, H*W)
        Training images, one flattened image per row.
    image_shape : tuple of int
        ``(H, W)``.

    Returns
    -------
    bool
        True when the mean of the images' border pixels (of 1,000 images spread
        over the set) lies in the lowest tenth of their value range.
    """
    imgs = np.asarray(_spread_sample(X), dtype=np.float64)
    if imgs.size == 0 or imgs[0].size != math.prod(image_shape):
        return True  # not one image a row: nothing to judge
    imgs = imgs.reshape(-1, *image_shape)
    lo, hi = float(imgs.min()), float(imgs.max())
    if hi <= lo:
        return True
    border = np.concatenate(
        [imgs[:, 0, :], imgs[:, -1, :], imgs[:, :, 0], imgs[:, :, -1]], axis=1
    )
    return float(border.mean()) <= lo + 0.1 * (hi - lo)


def ink_share(X) -> float:
    """Mean intensity of the images, 0 for the darkest value and 1 for the brightest.

    Parameters
    ----------
    X : ndarray, shape (n, H*W)
        Training images, one flattened image per row (1,000 spread over the set
        are read).

    Returns
    -------
    float
        In [0, 1]: how much of the frame the ink fills, in intensity.  0 when
        the images are all one value.
    """
    imgs = np.asarray(_spread_sample(X), dtype=np.float64)
    if imgs.size == 0:
        return 0.0
    lo, hi = float(imgs.min()), float(imgs.max())
    return 0.0 if hi <= lo else float((imgs.mean() - lo) / (hi - lo))


def squeezed_features(X) -> tuple[int, int, float]:
    """Features that one divisor, the largest |x|, would squeeze near 0.

    Parameters
    ----------
    X : ndarray, shape (n, ...)
        Training samples; each is flattened to its features.

    Returns
    -------
    squeezed : int
        Features whose largest |x| is under 1/:data:`SCALE_SPREAD` of the
        largest feature's.
    features : int
        Features that are not 0 throughout.
    largest : float
        The largest |x| of all.
    """
    X = np.asarray(X)
    if len(X) == 0:
        return 0, 0, 0.0
    flat = X.reshape(len(X), -1)  # |x| from two reductions: no copy of the data
    top = np.maximum(flat.max(axis=0).astype(np.float64), -flat.min(axis=0).astype(np.float64))
    top = top[top > 0]
    if top.size == 0:
        return 0, 0, 0.0
    largest = float(top.max())
    return int(np.sum(top < largest / SCALE_SPREAD)), int(top.size), largest


def _scale(cfg, ds, given: set, changes: dict) -> list[str]:
    """The note on the input scale; sets ``changes["scale"]`` for features of unlike ranges."""
    if cfg.scale != "unit" or "scale" in given or "folder" in getattr(ds, "files", {}):
        return []  # a folder's pixels share one unit (0-255)
    squeezed, features, largest = squeezed_features(ds.X_train)
    if features == 0 or squeezed < SQUEEZED_SHARE * features:
        return []
    changes["scale"] = "standard"
    return [
        f"inputs standardised per feature: {squeezed:,} of {features:,} features never reach "
        f"a tenth of the largest |x| ({largest:,.4g}), so one divisor would squeeze them near "
        "0 (--scale unit keeps one)"
    ]


def input_decisions(cfg, ds, given=()) -> tuple[dict, list[str]]:
    """What the samples themselves decide: scale, distortions, input dropout.

    The part of :func:`adapt` that depends on the inputs alone (not on their
    number), which ``backprop tune`` gives every trial.

    Parameters
    ----------
    cfg : backprop.config.TrainConfig
    ds : backprop.data.Dataset
        Reads ``X_train`` and ``image_shape``.
    given : collection of str
        Settings set explicitly; they are never changed.

    Returns
    -------
    changes : dict
        New values of ``scale``, ``augment``, ``flip`` and ``input_dropout``
        (only those that change).
    notes : list of str
        One sentence per decision.
    """
    given = set(given)
    changes: dict = {}
    notes = _scale(cfg, ds, given, changes)
    reason = _distortions_off(cfg, ds, given)
    if reason is not None:
        changes["augment"] = "none"
        changes["flip"] = False
        if not cfg.input_dropout and "input_dropout" not in given:
            changes["input_dropout"] = INPUT_DROPOUT
            reason += f"; input dropout {INPUT_DROPOUT:g} in their place"
        notes.append(reason)
    return changes, notes


def _shape_words(image_shape) -> str:
    from backprop.data.colour import is_colour_shape

    if image_shape is None or len(image_shape) < 2:
        return "not images"
    if is_colour_shape(image_shape):
        return "×".join(str(int(s)) for s in image_shape[:2]) + " colour images"
    return "×".join(str(int(s)) for s in image_shape) + " images"


def epochs_for(updates: int, n_train: int, batch_size: int, optimizer: str = "momentum") -> int:
    """Epochs that make about ``updates`` minibatch updates of ``n_train`` samples.

    Full-batch gradient descent (``optimizer="gd"``) makes one update per epoch.
    """
    per_epoch = 1 if optimizer == "gd" else math.ceil(n_train / min(batch_size, n_train))
    return int(min(max(math.ceil(updates / per_epoch), MIN_EPOCHS), MAX_EPOCHS))


def _n_validation(y: np.ndarray, fraction: float) -> int:
    """Samples of the smallest class a stratified split of ``fraction`` holds out."""
    _, counts = np.unique(np.asarray(y), return_counts=True)
    return int(round(fraction * counts.min())) if len(counts) else 0


def _distortions_off(cfg, ds, given: set) -> str | None:
    """Why the distortions ``cfg`` asks for do not suit ``ds`` (a note), or None to keep them.

    None too when the user set ``augment`` or ``flip``: their choice stands.
    """
    if (cfg.augment == "none" and not cfg.flip) or "augment" in given or "flip" in given:
        return None
    if not suits_distortions(ds.image_shape):
        return (
            f"no distortions: the samples are {_shape_words(ds.image_shape)}, and the "
            f"distortions are for greyscale images of {MIN_SIDE}-{MAX_SIDE} pixels a side"
        )
    if not dark_background(ds.X_train, ds.image_shape):
        return (
            "no distortions: the images have a light background, and the distortions "
            "fill what they move in with black (MNIST-style light ink on black)"
        )
    ink = ink_share(ds.X_train)
    if ink >= STROKE_INK:
        return (
            f"no distortions: the images are filled shapes (mean intensity {ink:.2f} of the "
            f"brightest pixel's), not strokes; the distortions model handwriting (Simard et al. "
            f"2003), whose thin strokes stay under {STROKE_INK:g} (MNIST 0.13, Fashion-MNIST's "
            "clothes 0.29)"
        )
    return None


def _length(cfg, given: set, n_train: int, changes: dict) -> list[str]:
    """The notes on the training length; sets ``changes["epochs"]`` for an update budget.

    ``time`` sets the length itself, so it drops ``max_time`` (refused when
    the user gave a ceiling below the time).
    """
    from backprop.timebudget import parse_duration

    ceiling = None if cfg.max_time is None else parse_duration(cfg.max_time, "max time")
    if cfg.time is not None:
        seconds = parse_duration(cfg.time)
        if "epochs" in given:
            raise ValueError(
                f"--time {cfg.time} and --epochs {cfg.epochs} both set the training length; "
                "give one of them"
            )
        if ceiling is not None and ceiling < seconds and "max_time" in given:
            raise ValueError(
                f"--max-time {cfg.max_time} is below --time {cfg.time}, which fits the epochs "
                f"to {cfg.time}; give one of them (--time is its own ceiling)"
            )
        if ceiling is not None:
            changes["max_time"] = None  # the time is the ceiling
        return [f"epochs: as many as fit in --time {cfg.time}, re-estimated after every epoch"]
    within = ("" if ceiling is None else
              f" (fewer if they would not end within max time {cfg.max_time})")
    if cfg.updates and "epochs" not in given:
        epochs = epochs_for(cfg.updates, n_train, cfg.batch_size, cfg.optimizer)
        changes["epochs"] = epochs
        return [
            f"{epochs:,} epochs: a budget of {cfg.updates:,} updates over {n_train:,} training "
            f"samples in minibatches of {min(cfg.batch_size, n_train)}{within}"
        ]
    word = "epoch" if cfg.epochs == 1 else "epochs"
    return [f"{cfg.epochs:,} {word}{within}"] if within else []


def adapt(cfg, ds, given=()) -> tuple:
    """The settings ``cfg`` adapted to the data set ``ds``, and what was decided.

    Parameters
    ----------
    cfg : backprop.config.TrainConfig
    ds : backprop.data.Dataset
        Reads ``X_train``, ``y_train`` and ``image_shape``.
    given : collection of str
        Settings the user set explicitly (flags or a config file); they are
        never changed.

    Returns
    -------
    cfg : TrainConfig
        A new config (``cfg`` itself when nothing changed).
    notes : list of str
        One sentence per decision, the last one saying what the model is
        selected on.

    Raises
    ------
    ValueError
        ``patience`` without a validation set; ``time`` or ``max_time``
        that is not a duration; ``time`` given with ``epochs``, or with a
        ``max_time`` given below it.
    """
    given = set(given)
    changes: dict = {}
    notes: list[str] = []
    y = np.asarray(ds.y_train)
    split = cfg.validation_split
    if split and "validation_split" not in given and _n_validation(y, split) == 0:
        notes.append(
            f"no validation set: {len(y):,} training samples are too few to hold out "
            f"{split:g} of every class"
        )
        changes["validation_split"] = split = 0.0
    n_train = len(y) - (0 if not split else int(round(split * len(y))))
    notes.extend(_length(cfg, given, n_train, changes))
    inputs, input_notes = input_decisions(cfg, ds, given)
    changes.update(inputs)
    notes.extend(input_notes)
    if cfg.patience is not None and not split:
        raise ValueError(
            f"patience={cfg.patience} watches the validation loss, but this run has no "
            "validation set; add --validation-split 0.1 or drop --patience"
        )
    if split:
        notes.append("model: the epoch with the lowest validation loss")
    else:
        notes.append(
            "model: the last epoch (no validation set: every training sample trains; "
            "--validation-split 0.1 selects the epoch on held-out data)"
        )
    return (cfg.updated(**changes) if changes else cfg), notes
