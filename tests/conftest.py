"""Fixtures shared by several test modules."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def sample_model(tmp_path_factory):
    """A 784-32-10 model file trained 3 epochs on the bundled sample: (path, dataset)."""
    import backprop
    from backprop.data import Preprocessor, load_dataset
    from backprop.model.model import image_steps_for
    from backprop.model.modelfile import save

    ds = load_dataset("mnist-sample")
    pre = Preprocessor("unit").fit(ds.X_train)
    net = backprop.Network([784, 32, 10], activation="relu", seed=0)
    backprop.fit(net, pre.transform(ds.X_train), ds.y_train, epochs=3, lr=0.1, batch_size=64)
    path = tmp_path_factory.mktemp("model") / "model.npz"
    save(net, path, preprocessor=pre, class_names=ds.class_names,
         train_config={"dataset": "mnist-sample"}, image=image_steps_for(ds), test_accuracy=0.9)
    return path, ds
