"""A scikit-learn compatible classifier around the backprop engine.

``BackpropClassifier`` takes the parameter names of scikit-learn's
``MLPClassifier`` where they mean the same thing, so it drops into pipelines,
``GridSearchCV`` and ``cross_val_score``:

>>> from sklearn.datasets import load_digits
>>> from backprop.sklearn import BackpropClassifier
>>> X, y = load_digits(return_X_y=True)
>>> clf = BackpropClassifier(hidden_layer_sizes=(100,), max_iter=20, random_state=0)
>>> clf.fit(X / 16, y).score(X / 16, y) > 0.95
True

Differences from ``MLPClassifier``: ``solver`` accepts every optimiser of
``backprop.engine.optim.OPTIMIZERS`` ("adam", "sgd", "momentum", "nesterov", "gd");
``alpha`` is scikit-learn's L2 term (α/2)‖W‖² divided by the batch size,
i.e. ``l2 = alpha / batch_size``; ``dropout`` and ``dtype`` (default
float64, unlike ``backprop train``) are extra.
Requires scikit-learn (``pip install 'backprop-mlp[sklearn]'``).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from backprop.engine.network import Network
from backprop.engine.train import Trainer, split
from backprop.model.model import Model


class BackpropClassifier(ClassifierMixin, BaseEstimator):
    """Multi-layer perceptron classifier trained by backprop.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default (100,)
    activation : {"relu", "sigmoid", "tanh", "leaky_relu", "identity"}, default "relu"
        Hidden-layer activation ("logistic" is accepted for "sigmoid").
    solver : {"adam", "sgd", "momentum", "nesterov", "gd"}, default "adam"
    alpha : float, default 1e-4
        L2 penalty, scikit-learn's scaling.
    batch_size : int or "auto", default "auto" (min(200, n_samples))
    learning_rate_init : float, default 1e-3
    max_iter : int, default 200
        Epochs.
    momentum : float, default 0.9
    beta_1, beta_2, epsilon : float
        Adam's beta1, beta2, eps (Kingma & Ba 2015).
    early_stopping : bool, default False
        Hold out ``validation_fraction`` (stratified) and stop after
        ``n_iter_no_change`` epochs without improvement of the validation
        loss, keeping the best weights.
    validation_fraction : float, default 0.1
    n_iter_no_change : int, default 10
    dropout : float, default 0
    dtype : {"float32", "float64"}, default "float64"
        float64 makes predictions independent of how the samples are batched,
        as scikit-learn's checks expect; "float32" trains about twice as fast.
    random_state : int or None

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    network_ : backprop.Network
    model_ : backprop.Model
        The network with the class names; ``model_.save(path)`` writes a model file.
    loss_curve_ : list of float
    validation_scores_ : list of float or None
    n_iter_ : int
    n_features_in_ : int
    """

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        solver="adam",
        alpha=1e-4,
        batch_size="auto",
        learning_rate_init=1e-3,
        max_iter=200,
        momentum=0.9,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        dropout=0.0,
        dtype="float64",
        random_state=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.dropout = dropout
        self.dtype = dtype
        self.random_state = random_state

    def fit(self, X, y):
        """Train on X (n_samples, n_features) and class labels y (n_samples,)."""
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"y holds 1 class only ({self.classes_[0]!r}); a classifier needs at least 2"
            )
        n_classes = len(self.classes_)
        hidden = [int(h) for h in np.atleast_1d(self.hidden_layer_sizes)]
        activation = "sigmoid" if self.activation == "logistic" else self.activation
        seed = self.random_state if isinstance(self.random_state, (int, np.integer)) else None
        if self.random_state is not None and seed is None:
            raise ValueError("random_state must be an int or None")
        rng = np.random.default_rng(seed)
        self.network_ = Network(
            [X.shape[1], *hidden, n_classes if n_classes > 2 else 1],
            activation=activation,
            dropout=self.dropout,
            dtype=self.dtype,
            rng=rng,
        )
        validation = None
        if self.early_stopping:
            X, y_idx, Xv, yv = split(X, y_idx, self.validation_fraction, rng)
            validation = (Xv, yv)
        n = len(X)
        bs = min(200, n) if self.batch_size == "auto" else int(self.batch_size)
        if bs < 1:
            raise ValueError(f"batch_size must be ≥ 1 or 'auto', got {self.batch_size!r}")
        bs = min(bs, n)
        trainer = Trainer(
            self.network_,
            optimizer=self.solver,
            lr=self.learning_rate_init,
            epochs=int(self.max_iter),
            batch_size=bs,
            momentum=self.momentum,
            beta1=self.beta_1,
            beta2=self.beta_2,
            eps=self.epsilon,
            l2=self.alpha / bs,
            patience=self.n_iter_no_change if self.early_stopping else None,
        )
        history = trainer.fit(X, y_idx, validation_data=validation)
        self.model_ = Model(self.network_, class_names=[str(c) for c in self.classes_])
        self.loss_curve_ = history["loss"]
        self.validation_scores_ = history["val_acc"] if self.early_stopping else None
        self.n_iter_ = len(history)
        self.history_ = history
        return self

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return self.model_.predict_proba(X)

    def predict(self, X):
        """Predicted class labels, shape (n_samples,)."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags
