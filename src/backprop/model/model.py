"""A trained model: the network plus everything needed to use it on raw inputs.

:class:`Model` holds

``network``
    the :class:`backprop.engine.network.Network` with its weights (for an
    ensemble, member 0: what looks at one network, like ``report``'s weight
    plots, looks at this one);
``members``
    every network of the model, ``members[0] is network``: one for a plain
    model, ``k`` of the same architecture for an ensemble
    (``backprop train --ensemble k``), whose class probabilities are averaged;
``preprocessor``
    the fitted :class:`backprop.data.Preprocessor` (flatten and scale), or None;
``image``
    the :class:`backprop.data.images.ImageSteps` its training images went
    through, or None for data that are not images;
``class_names``
    one name per class (``"0"``, ``"1"``, ... when none were given);
``metadata``
    provenance: ``train_config`` (the settings), ``extra`` (data set, test
    accuracy, ...), and the backprop and NumPy versions that wrote the file.

``predict`` and ``predict_proba`` (the members' mean) take raw inputs, as the training data came
(``(N, 28, 28)`` uint8 MNIST images, or ``(N, D)`` rows); ``predict_image``
takes an image file or a greyscale drawing and repeats the training images'
steps on it (in colour for a model of colour images).  ``Model.load`` reads a
model file, ``save`` writes one (see :mod:`backprop.model.modelfile`).

>>> import backprop
>>> model = backprop.load("runs/mnist-sample-20250101-120000/model.npz")  # doctest: +SKIP
>>> model.predict(images)                           # raw uint8 (N, 28, 28)  # doctest: +SKIP
>>> model.predict_image("my_seven.png")["label"]                            # doctest: +SKIP
'7'
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from backprop.data.colour import is_colour_shape, read_rgb
from backprop.data.images import ImageSteps, read_grey
from backprop.data.preprocess import Preprocessor
from backprop.engine.network import Network
from backprop.errors import DataError, ModelFileError

__all__ = ["MAX_ARRAYS", "Model", "check_ensemble", "image_steps_for"]

#: Most arrays a model file holds (``backprop.model.archive.Limits.members``, less the metadata).
MAX_ARRAYS = 1023


def check_ensemble(k: int, n_layers: int, limit: int | None = None) -> None:
    """ValueError unless ``k`` networks of ``n_layers`` layers fit in one model file.

    Parameters
    ----------
    k : int
        Networks in the ensemble, 1 to ``limit`` (default ``BACKPROP_MAX_ENSEMBLE``, 32).
    n_layers : int
        Weight layers per network (each stores a ``W`` and a ``b`` array).
    """
    from backprop.limits import limit as env_limit

    most = env_limit("BACKPROP_MAX_ENSEMBLE") if limit is None else limit
    if not 1 <= k <= most:
        raise ValueError(f"an ensemble holds 1 to {most} networks, not {k}; if more are "
                         "genuinely needed, raise BACKPROP_MAX_ENSEMBLE")
    if 2 * k * n_layers > MAX_ARRAYS:
        raise ValueError(
            f"{k} networks of {n_layers} layers need {2 * k * n_layers:,} arrays, more than a "
            f"model file holds ({MAX_ARRAYS:,}); use fewer networks or fewer layers"
        )


@dataclass
class Model:
    """A network with its input pipeline, class names and provenance (module docstring)."""

    network: Network
    preprocessor: Preprocessor | None = None
    class_names: list[str] = field(default_factory=list)
    image: ImageSteps | None = None
    metadata: dict = field(default_factory=dict)
    members: list[Network] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._check_members()
        k = self.n_classes
        names = [str(c) for c in self.class_names] if self.class_names else []
        if not names:
            names = [str(i) for i in range(k)]
        if len(names) != k:
            raise ValueError(
                f"class_names lists {len(names)} names but the network has "
                f"{self.network.sizes[-1]} output(s), so {k} classes; give one name per class"
            )
        self.class_names = names
        pre = self.preprocessor
        if pre is not None and pre.n_features is not None and pre.n_features != self.n_inputs:
            raise ValueError(
                f"the preprocessor gives {pre.n_features} features but the network takes "
                f"{self.n_inputs} inputs"
            )
        if self.image is not None and int(np.prod(self.image.shape)) != self.n_inputs:
            raise ValueError(
                f"images of shape {self.image.shape} do not give the network's "
                f"{self.n_inputs} inputs"
            )

    def _check_members(self) -> None:
        """``members`` defaults to ``[network]``; all must share member 0's architecture."""
        members = list(self.members) or [self.network]
        if members[0] is not self.network:
            raise ValueError("members[0] must be the model's network (member 0)")
        config = self.network.config()
        for i, net in enumerate(members[1:], start=1):
            if not isinstance(net, Network) or net.config() != config:
                raise ValueError(
                    f"ensemble member {i} is not a network like member 0 "
                    f"({'-'.join(map(str, self.network.sizes))}, {config.get('dtype')}); the "
                    "members of a model share one architecture"
                )
        check_ensemble(len(members), len(self.network.layers))
        self.members = members

    def folded(self) -> Model:
        """This model with every member's batch normalisation folded into W and b.

        Itself when no member has any (``Network.folded``); what files and graphs hold.
        """
        if not any(net.batch_norm for net in self.members):
            return self
        nets = [net.folded() for net in self.members]
        return dataclasses.replace(self, network=nets[0], members=nets)

    @classmethod
    def of(cls, model: Model | Network) -> Model:
        """``model`` itself, or a bare Network wrapped (no scaling, no image steps)."""
        return model if isinstance(model, Model) else cls(model)

    # ------------------------------------------------------------------ shape
    @property
    def sizes(self) -> list[int]:
        """Units per layer, input first."""
        return list(self.network.sizes)

    @property
    def n_members(self) -> int:
        """Networks whose probabilities the model averages (1 unless an ensemble)."""
        return len(self.members)

    @property
    def n_inputs(self) -> int:
        return int(self.network.sizes[0])

    @property
    def n_classes(self) -> int:
        """Number of classes: the output units, or 2 for one sigmoid unit."""
        return max(2, int(self.network.sizes[-1]))

    @property
    def train_config(self) -> dict:
        """The training settings recorded in the file (empty when none)."""
        return dict(self.metadata.get("train_config") or {})

    @property
    def extra(self) -> dict:
        """Other recorded facts: ``dataset``, ``test_accuracy``, ``image_shape``, ..."""
        return dict(self.metadata.get("extra") or {})

    @property
    def dataset(self) -> str | None:
        """The data set it was trained on, by name or folder, when recorded."""
        cfg, extra = self.train_config, self.extra
        return cfg.get("dataset") or cfg.get("data_dir") or extra.get("dataset")

    def __repr__(self) -> str:
        k = self.n_members
        return (f"Model({self.network!r}{f' x {k} networks' if k > 1 else ''}, "
                f"classes={self.class_names}, "
                f"image={None if self.image is None else self.image.kind})")

    # ------------------------------------------------------------------ predict
    def transform(self, X: Any) -> np.ndarray:
        """Raw inputs (N, ...) to the network's inputs (N, D), in the network's dtype."""
        X = np.asarray(X)
        if X.ndim < 1:
            raise DataError(f"inputs must be a batch (N, ...), got a scalar {X!r}")
        if self.preprocessor is not None:
            X = self.preprocessor.transform(X)
        X = X.reshape(len(X), -1)
        if X.shape[1] != self.n_inputs:
            raise DataError(
                f"inputs give {X.shape[1]} features but the model takes {self.n_inputs}; "
                "give data like its training data"
            )
        return np.asarray(X, dtype=self.network.dtype)

    def network_outputs(self, x: np.ndarray) -> np.ndarray:
        """Output activations (N, n_out) for network inputs ``x`` (N, D).

        One network: its outputs, in its dtype.  An ensemble: the mean of the
        members' outputs, float64 (for a one-unit sigmoid, the mean P(class 1)).
        """
        if self.n_members == 1:
            return self.network.predict_proba(x)
        total = np.zeros((len(x), self.network.sizes[-1]), dtype=np.float64)
        for net in self.members:
            total += net.predict_proba(x)
        return total / self.n_members

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of raw inputs, float64 (N, n_classes).

        A one-unit sigmoid output gives two columns, P(class 0) and P(class 1).
        An ensemble gives the mean of its members' probabilities.
        """
        return self.outputs_to_proba(self.network_outputs(self.transform(X)))

    def predict(self, X: Any) -> np.ndarray:
        """Class indices (N,) of raw inputs; names are ``class_names[i]``."""
        return np.argmax(self.predict_proba(X), axis=1)

    @staticmethod
    def outputs_to_proba(out: np.ndarray) -> np.ndarray:
        """Output activations (N, K) as class probabilities: one sigmoid unit becomes 2 columns."""
        out = np.asarray(out, dtype=np.float64)
        if out.shape[1] == 1:
            return np.hstack([1.0 - out, out])
        return out

    def layer_outputs(self, x: np.ndarray, member: int = 0) -> list[np.ndarray]:
        """The activations of every layer for network inputs ``x`` (N, D), last = outputs.

        Of one network: member 0 (``network``) unless ``member`` says which.
        Uses no shared scratch state (``net.cache``), so threads may call it at once.
        """
        net = self.members[member]
        a = np.asarray(x, dtype=net.dtype)
        outs = []
        for layer in net.layers:
            _, a = layer.forward(a)
            outs.append(a)
        return outs

    def check_data(self, ds: Any, source: str = "the model") -> None:
        """DataError unless data set ``ds`` has this model's classes and input size."""
        self.check_features(ds, source)
        if ds.n_classes != self.n_classes:
            raise DataError(
                f"data set {ds.name} has {ds.n_classes} classes but {source} predicts "
                f"{self.n_classes}; evaluate the model on the classes it was trained for"
            )
        default = [str(i) for i in range(self.n_classes)]
        if self.class_names != default and list(ds.class_names) != self.class_names:
            raise DataError(
                f"data set {ds.name} has classes {_short(ds.class_names)} but {source} was "
                f"trained on {_short(self.class_names)}; evaluate it on the same classes"
            )

    def check_features(self, ds: Any, source: str = "the model") -> None:
        """DataError unless data set ``ds`` has this model's input size."""
        n_features = int(np.prod(ds.X_train.shape[1:], dtype=np.int64))
        if n_features != self.n_inputs:
            raise DataError(
                f"data set {ds.name} has {n_features} features per sample "
                f"(shape {tuple(ds.X_train.shape[1:])}) but {source} takes {self.n_inputs}; "
                "evaluate the model on data like its training data"
            )

    def class_indices(self, names: list[str], y: np.ndarray, source: str) -> np.ndarray:
        """Labels ``y`` (N,) that index ``names`` (a data set's classes) as this model's classes.

        Classes are matched by name, so a test set may hold some of the model's
        classes only, in any order (labels ``{1, 2}`` of a model trained on
        ``{0, 1, 2}`` stay 1 and 2).  DataError names a class the model does not know.
        """
        where = {name: i for i, name in enumerate(self.class_names)}
        unknown = [n for n in names if n not in where]
        if unknown:
            raise DataError(
                f"{source} holds the classes {_short(unknown)}, which the model was not "
                f"trained on (it knows {_short(self.class_names)}); evaluate it on the "
                "classes it was trained for"
            )
        return np.array([where[n] for n in names], dtype=np.int64)[np.asarray(y, np.int64)]

    # ------------------------------------------------------------------ images
    def image_steps(self, source: str = "the model") -> ImageSteps:
        """The steps new images go through; ModelFileError when the model takes no images."""
        if self.image is None:
            raise ModelFileError(
                f"{source} takes {self.n_inputs} numbers per sample, not images; use a model "
                "trained on images (MNIST, or --data-dir on a folder of images)"
            )
        return self.image

    def picture(self, image: str | os.PathLike | bytes | np.ndarray,
                name: str | None = None) -> np.ndarray:
        """What the network sees of an image file, its bytes, or a grey array in [0, 1].

        Returns the uint8 picture after the training images' steps: (H, W), or
        (H, W, 3) RGB for a model of colour images (which reads files in colour).
        """
        steps = self.image_steps()
        read = read_rgb if steps.channels == 3 else read_grey
        grey = image if isinstance(image, np.ndarray) else read(image, name)
        return steps.picture(grey, source=name or (str(image) if isinstance(
            image, (str, os.PathLike)) else "image"))

    def predict_image(self, image: str | os.PathLike | bytes | np.ndarray,
                      name: str | None = None, layers: bool = False) -> dict:
        """Classify one image (see :meth:`picture`).

        Returns
        -------
        dict
            ``label``, ``index``, ``probabilities`` (float64, one per class;
            an ensemble's mean), ``picture`` (the uint8 image the network saw)
            and, with ``layers=True``, ``hidden`` (each hidden layer's
            activations, of member 0 for an ensemble).
        """
        pic = self.picture(image, name)
        x = self.transform(self.image_steps().values(pic)[None])
        outs = self.layer_outputs(x)
        last = outs[-1]
        if self.n_members > 1:  # thread-safe like layer_outputs: no net.cache
            last = np.asarray(last, dtype=np.float64)
            for i in range(1, self.n_members):
                last = last + self.layer_outputs(x, i)[-1]
            last = last / self.n_members
        proba = self.outputs_to_proba(last)[0]
        k = int(np.argmax(proba))
        result = {"label": self.class_names[k], "index": k, "probabilities": proba,
                  "picture": pic}
        if layers:
            result["hidden"] = [h[0] for h in outs[:-1]]
        return result

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike, **extra: Any) -> Path:
        """Write a model file (atomically); ``extra`` JSON facts join ``metadata["extra"]``."""
        from backprop.model.modelfile import save

        return save(self, path, **extra)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Model:
        """Read a model file (never unpickles); ModelFileError names any problem."""
        from backprop.model.modelfile import load

        return load(path)


def _short(names: list) -> str:
    text = ", ".join(map(str, names[:6]))
    return f"[{text}{', ...' if len(names) > 6 else ''}]"


def image_steps_for(ds: Any) -> ImageSteps | None:
    """The image steps that made a data set's images (None when they are not images).

    A folder of your own images, or an ``.npz``/``.csv`` of them, was read as it
    is ("plain"); the MNIST family and the scikit-learn digits are MNIST-style.
    Images are (H, W) grey or (H, W, 3) RGB, as a folder of colour images is read.
    """
    shape = ds.image_shape
    colour = is_colour_shape(shape)
    if shape is None or (len(shape) != 2 and not colour):
        return None
    X = ds.X_train
    ink = 255.0 if X.dtype == np.uint8 else float(np.max(X)) if X.size else 255.0
    if not (np.isfinite(ink) and ink > 0):
        ink = 255.0
    own = set(ds.files) & {"folder", "npz", "csv"}
    if own or shape[0] != shape[1] or colour:
        return ImageSteps("plain", tuple(shape), ink=ink)
    return ImageSteps("mnist", tuple(shape), ink=ink)
