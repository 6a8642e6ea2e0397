"""A scikit-learn compatible classifier around the backprop engine.

``BackpropClassifier`` takes the parameters of scikit-learn's ``MLPClassifier``
that make sense for it, with the same names, defaults and meaning, so it drops
into pipelines, ``GridSearchCV`` and ``cross_val_score``:

>>> from sklearn.datasets import load_digits
>>> from backprop.sklearn import BackpropClassifier
>>> X, y = load_digits(return_X_y=True)
>>> clf = BackpropClassifier(hidden_layer_sizes=(100,), max_iter=20, random_state=0)
>>> clf.fit(X / 16, y).score(X / 16, y) > 0.95
True

Like ``MLPClassifier``: training stops when the training loss (with
``early_stopping``, the validation accuracy) has not improved by ``tol`` for
more than ``n_iter_no_change`` epochs, and a ``ConvergenceWarning`` says when
``max_iter`` ran out first; ``learning_rate`` is "constant", "invscaling"
(η / (t + 1)^power_t, t the samples seen) or "adaptive" (η / 5 whenever that
rule fires, until η < 1e-6), for the SGD solvers (Adam ignores it);
``solver="sgd"`` is momentum SGD, Nesterov's when ``nesterovs_momentum``;
``partial_fit(X, y, classes=...)`` trains one epoch and keeps the optimiser's
state; ``warm_start`` continues from the last fit.

Differences: ``solver`` also accepts "momentum", "nesterov" and "gd" (full
batch); "lbfgs" is refused, and so is ``max_fun``, which only it uses.
``alpha`` is scikit-learn's L2 term (α/2)‖W‖² divided by the batch size,
i.e. ``l2 = alpha / batch_size``; ``loss_curve_`` holds the data term only.
``verbose`` prints backprop's epoch lines.  ``dropout``, ``batch_norm`` and
``dtype`` (default float64, unlike ``backprop train``) are extra.
Requires scikit-learn (``pip install 'backprop-mlp[sklearn]'``).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from backprop.engine.network import Network
from backprop.engine.train import EpochPrinter, Trainer, split
from backprop.model.model import Model

# MLPClassifier's parameters and rules; the names are re-exported, as callers import them from here.
from backprop.sklearn_rules import (  # noqa: F401
    AS_SETTINGS,
    LEARNING_RATES,
    SOLVERS,
    UNSUPPORTED,
    _is_int,
    _is_real,
    _plain,
    _Rate,
    _Stopping,
    check_params,
)


class BackpropClassifier(ClassifierMixin, BaseEstimator):
    """Multi-layer perceptron classifier trained by backprop.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default (100,)
    activation : {"relu", "logistic", "tanh", "identity", "leaky_relu"}, default "relu"
        Hidden-layer activation ("sigmoid" is accepted for "logistic").
    solver : {"adam", "sgd", "momentum", "nesterov", "gd"}, default "adam"
        "sgd" is momentum SGD with ``momentum`` (Nesterov's when
        ``nesterovs_momentum``), as in scikit-learn; "momentum" and "nesterov"
        force one of them, "gd" is full-batch gradient descent.
    alpha : float, default 1e-4
        L2 penalty, scikit-learn's scaling.
    batch_size : int or "auto", default "auto" (min(200, n_samples))
    learning_rate : {"constant", "invscaling", "adaptive"}, default "constant"
        Rate rule of the SGD solvers (see the module docstring).
    learning_rate_init : float, default 1e-3
    power_t : float, default 0.5
        Exponent of "invscaling".
    max_iter : int, default 200
        Epochs at most (per ``fit``).
    shuffle : bool, default True
        Reshuffle the samples every epoch.
    random_state : int, RandomState or None
        Seeds the weights, the shuffles, dropout and the validation split.
    tol : float, default 1e-4
    verbose : bool, default False
        Print one line per epoch.
    warm_start : bool, default False
        ``fit`` continues from the previous fit's weights (same classes).
    momentum : float, default 0.9
    nesterovs_momentum : bool, default True
    early_stopping : bool, default False
        Hold out ``validation_fraction`` (stratified), stop on its accuracy,
        and end with the weights of its best epoch.
    validation_fraction : float, default 0.1
    beta_1, beta_2, epsilon : float
        Adam's β₁, β₂, ε (Kingma & Ba 2015).
    n_iter_no_change : int, default 10
    dropout : float, default 0
        Inverted dropout on the hidden layers (backprop's extra).
    batch_norm : bool, default False
        Batch normalisation of the hidden layers (backprop's extra; docs/math.md,
        (B1)-(B4)); ``coefs_`` and ``intercepts_`` are then the folded inference map.
    dtype : {"float32", "float64"}, default "float64"
        float64 makes predictions independent of how the samples are batched,
        as scikit-learn's checks expect; "float32" trains about twice as fast.
    max_fun : None
        Refused: MLPClassifier's bound for the 'lbfgs' solver, which backprop
        does not have (``fit`` says so when it is set).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    network_ : backprop.Network
    model_ : backprop.Model
        The network with the class names; ``model_.save(path)`` writes a model file.
    loss_curve_ : list of float
        Mean training loss of each epoch, over every ``fit``/``partial_fit`` since
        the network was made.
    best_loss_ : float or None
        The lowest of them (None with ``early_stopping``).
    validation_scores_ : list of float or None
        Validation accuracy per epoch with ``early_stopping``.
    best_validation_score_ : float or None
    n_iter_ : int
        Epochs trained.
    t_ : int
        Samples seen.
    coefs_, intercepts_ : list of ndarray
        The weights as scikit-learn lays them out: (n_in, n_out) per layer.
    n_features_in_ : int
    history_ : backprop.History
        The last call's per-epoch records.
    """

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=1e-4,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=1e-3,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        dropout=0.0,
        batch_norm=False,
        dtype="float64",
        max_fun=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.dtype = dtype
        self.max_fun = max_fun

    # ------------------------------------------------------------------ checks
    def _validate_params(self) -> None:
        check_params(self)

    def _optimizer(self) -> str:
        if self.solver != "sgd":
            return self.solver
        if self.momentum == 0:
            return "sgd"
        return "nesterov" if self.nesterovs_momentum else "momentum"

    # ------------------------------------------------------------------ training
    def _new_network(self, n_features: int) -> None:
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        activation = "sigmoid" if self.activation == "logistic" else self.activation
        k = len(self.classes_)
        hidden = [int(h) for h in np.atleast_1d(self.hidden_layer_sizes)]
        self.network_ = Network(
            [n_features, *hidden, k if k > 2 else 1], activation=activation,
            dropout=self.dropout, dtype=self.dtype, seed=int(seed),
            batch_norm=bool(self.batch_norm),
        )
        self.model_ = Model(self.network_, class_names=[str(c) for c in self.classes_])
        self.loss_curve_: list[float] = []
        self.n_iter_ = 0
        self.t_ = 0
        self._trainer = None

    def _trainer_for(self, n: int, epochs: int, callbacks: list) -> Trainer:
        bs = min(200, n) if self.batch_size == "auto" else min(int(self.batch_size), n)
        rate = _Rate(self.learning_rate if self._optimizer() != "adam" else "constant",
                     self.learning_rate_init, self.power_t)
        if self.verbose:
            callbacks = [*callbacks, EpochPrinter()]
        trainer = Trainer(
            self.network_, optimizer=self._optimizer(), lr=self.learning_rate_init,
            epochs=epochs, batch_size=bs, momentum=self.momentum, beta1=self.beta_1,
            beta2=self.beta_2, eps=self.epsilon, schedule=rate, l2=self.alpha / bs,
            shuffle=bool(self.shuffle), restore_best=False, callbacks=callbacks,
        )
        return trainer

    def _labels(self, y: np.ndarray) -> np.ndarray:
        check_classification_targets(y)
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if len(unknown):
            raise ValueError(
                f"y holds classes {unknown.tolist()} that are not in classes_ "
                f"{self.classes_.tolist()}; partial_fit and warm_start keep the first "
                "call's classes"
            )
        return np.searchsorted(self.classes_, y)

    def fit(self, X, y):
        """Train on X (n_samples, n_features) and class labels y (n_samples,)."""
        self._validate_params()
        cont = self.warm_start and hasattr(self, "network_")
        X, y = validate_data(self, X, y, reset=not cont, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        if cont:
            y_idx = self._labels(y)
        else:
            self.classes_, y_idx = np.unique(y, return_inverse=True)
            if len(self.classes_) < 2:
                raise ValueError(
                    f"y holds 1 class only ({self.classes_[0]!r}); a classifier needs at "
                    "least 2"
                )
            self._new_network(X.shape[1])
        validation = None
        if self.early_stopping:
            X, y_idx, Xv, yv = split(X, y_idx, self.validation_fraction, self.network_.rng)
            validation = (Xv, yv)
        self.validation_scores_ = [] if self.early_stopping else None
        self.best_validation_score_ = -np.inf if self.early_stopping else None
        self.best_loss_ = np.inf
        self._no_improvement_count = 0
        trainer = self._trainer_for(len(X), int(self.max_iter), [])
        stop = _Stopping(self, trainer.schedule, self.early_stopping, len(X))
        trainer.callbacks.insert(0, stop)
        self.history_ = trainer.fit(X, y_idx, validation_data=validation)
        if self.early_stopping:
            self.best_loss_ = None
        self._trainer = None  # partial_fit after fit starts a fresh optimiser
        if not stop.converged:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def partial_fit(self, X, y, classes=None):
        """Train one epoch on X, y, keeping the optimiser's state between calls.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like, required on the first call
            Every class that any call will see.
        """
        self._validate_params()
        first = not hasattr(self, "classes_")
        if first and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit (all the labels "
                "any call will see), e.g. partial_fit(X, y, classes=np.unique(y_all))"
            )
        X, y = validate_data(self, X, y, reset=first, dtype=[np.float64, np.float32])
        if first:
            self.classes_ = np.unique(np.asarray(classes))
            if len(self.classes_) < 2:
                raise ValueError("classes must hold at least 2 classes")
            self._new_network(X.shape[1])
            self.validation_scores_ = self.best_validation_score_ = None
            self.best_loss_ = np.inf
            self._no_improvement_count = 0
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"classes {np.unique(classes).tolist()} differ from the first call's "
                f"{self.classes_.tolist()}"
            )
        y_idx = self._labels(y)
        if self._trainer is None:
            self._trainer = self._trainer_for(len(X), 1, [])
            self._stop = _Stopping(self, self._trainer.schedule, False, len(X))
            self._trainer.callbacks.insert(0, self._stop)
        trainer = self._trainer
        bs = min(200, len(X)) if self.batch_size == "auto" else min(int(self.batch_size), len(X))
        trainer.batch_size, trainer.l2 = bs, self.alpha / bs
        self._stop.n = len(X)
        trainer.epochs = trainer.epoch + 1
        self.history_ = trainer.fit(X, y_idx)
        return self

    # ------------------------------------------------------------------ predicting
    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return self.model_.predict_proba(X)

    def predict(self, X):
        """Predicted class labels, shape (n_samples,)."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices laid out as in scikit-learn: (n_in, n_out) per layer."""
        check_is_fitted(self, "network_")
        return [layer.W.T.copy() for layer in self.network_.folded().layers]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors, one per layer."""
        check_is_fitted(self, "network_")
        return [layer.b.copy() for layer in self.network_.folded().layers]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags
