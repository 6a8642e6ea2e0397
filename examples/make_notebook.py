"""Write examples/learn-backprop.ipynb, the learner's notebook, from the cells below.

    python examples/make_notebook.py

The notebook is committed without outputs; tests/test_notebook.py executes it
(nbclient) so that it cannot rot.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CELLS: list[tuple[str, str]] = [
    ("md", """\
# Backpropagation, from XOR to handwritten digits

This notebook walks through the `backprop` package in three steps:

1. **The seed's network on XOR.** "The seed" is the short derivation of
   backpropagation this project grew from: a network of three layers (inputs,
   one sigmoid hidden layer, sigmoid outputs) trained on the cross-entropy cost,
   whose backward pass it writes as equations (10)-(17)
   ([docs/math.md](../docs/math.md) restates them). We train it on XOR, the
   four points no single perceptron can separate.
2. **`explain`: the equations with numbers.** One forward pass, one backward
   pass and one gradient step of a tiny network, every quantity computed by
   hand and compared with the engine and with finite differences.
3. **MNIST.** A 784-100-10 network on the 4,000 + 1,000 real MNIST digits
   bundled with the package (no download): its learning curves and the digits
   it gets wrong.

It runs in well under a minute on a laptop CPU."""),
    ("code", """\
import matplotlib.pyplot as plt
import numpy as np

import backprop
from backprop import Network, Perceptron, fit

print("backprop", backprop.__version__)"""),
    ("md", """\
## 1. The seed's 3-layer network on XOR

Two inputs, three sigmoid hidden units, one sigmoid output: `Network([2, 3, 1])`.
`seed=0` is the seed of the random number generator that draws the initial
weights (nothing to do with "the seed" text). Full-batch gradient descent
(`optimizer="gd"`) with η = 2."""),
    ("code", """\
X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
y = np.array([0, 1, 1, 0])                     # XOR

net = Network([2, 3, 1], activation="sigmoid", seed=0)
history = fit(net, X, y, optimizer="gd", lr=2.0, epochs=2000)

print(net)
print("predictions:", net.predict(X))
print("P(y = 1):   ", net.predict_proba(X).ravel().round(3))
print(f"loss {history['loss'][0]:.3f} -> {history['loss'][-1]:.4f}")"""),
    ("md", """\
The loss sits on a plateau for a while, then drops once the hidden units
split the plane: that plateau is why XOR was a famous test for early training
methods."""),
    ("code", """\
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(history["epoch"], history["loss"])
ax.set_xlabel("epoch")
ax.set_ylabel("cross-entropy loss")
ax.set_yscale("log")
ax.set_title("XOR, 2-3-1 sigmoid network, gradient descent")
plt.show()"""),
    ("md", """\
A single perceptron (no hidden layer) cannot do it: no line separates the two
classes, so it gets at most 3 of the 4 points right however long it trains."""),
    ("code", """\
p = Perceptron(epochs=1000, seed=0).fit(X, y)
print("perceptron:", p.predict(X), "correct:", int((p.predict(X) == y).sum()), "of 4")"""),
    ("md", """\
## 2. `explain`: equations (10)-(17) with their numbers

`backprop.explain()` builds the seed's 2-3-2 network, feeds it one example,
and computes every quantity of the backward pass **by hand** in the seed's
column notation, then compares each with the engine's own value and the
gradients with central finite differences. The full walk-through is long;
here are its title and its first section."""),
    ("code", """\
ex = backprop.explain()
text = ex.render("text")
print("\\n".join(text.splitlines()[:24]))
print("...")
print("every check passed:", ex.ok, f"({len(ex.checks)} checks)")"""),
    ("md", """\
The numbers are plain NumPy arrays (column form: one column per sample), so we
can check the first equation ourselves. Equation (10) says that for sigmoid
outputs with the cross-entropy cost the output error is just
δ⁽³⁾ = a⁽³⁾ − y:"""),
    ("code", """\
a3, y3 = ex.values["a3"], ex.values["y"]
print("a(3)      =", a3.ravel().round(4))
print("y         =", y3.ravel())
print("a(3) - y  =", (a3 - y3).ravel().round(4))
print("delta(3)  =", ex.engine["delta3"].ravel().round(4), " (the engine's)")
assert np.allclose(a3 - y3, ex.engine["delta3"])"""),
    ("md", """\
Equation (13)-(12) carries the error back one layer: δ⁽²⁾ = (W⁽²⁾ᵀ δ⁽³⁾) ⊙ a⁽²⁾(1 − a⁽²⁾)
for a sigmoid hidden layer, and (14) gives the gradient ∇⁽²⁾ = δ⁽³⁾ a⁽²⁾ᵀ.
The relative errors against finite differences are around 1e-10:"""),
    ("code", """\
W2, a2 = ex.values["W2"], ex.values["a2"]
delta3 = ex.values["delta3"]
delta2 = (W2.T @ delta3) * a2 * (1 - a2)
print("delta(2) by hand:", delta2.ravel().round(5))
print("delta(2) engine: ", ex.engine["delta2"].ravel().round(5))
print("grad W(2) = delta(3) a(2)^T:\\n", (delta3 @ a2.T).round(5))
for name, err in ex.fd_errors.items():
    print(f"{name:8s} relative error vs finite differences {err:.1e}")
print(f"cost J before the step {ex.cost_before:.4f}, after {ex.cost_after:.4f}")"""),
    ("md", """\
## 3. MNIST: 784-100-10 on the bundled digits

`load_dataset("mnist-sample")` returns 4,000 training and 1,000 test digits
(28×28 grey levels 0-255, 10 balanced classes) shipped with the package. We
scale the pixels to [0, 1], hold out 10 % of the training set for validation
(stratified) and train a ReLU network with momentum SGD for 15 epochs."""),
    ("code", """\
from backprop.data import load_dataset

ds = load_dataset("mnist-sample")
X_train = ds.X_train.reshape(len(ds.X_train), -1) / 255.0
X_test = ds.X_test.reshape(len(ds.X_test), -1) / 255.0
print(ds.X_train.shape, ds.X_test.shape, "classes", ds.class_names)

net = Network([784, 100, 10], activation="relu", seed=0)
history = fit(net, X_train, ds.y_train, validation_split=0.1, epochs=15, lr=0.05,
              batch_size=64, verbose=True)
test_acc = float((net.predict(X_test) == ds.y_test).mean())
print(f"test accuracy {test_acc:.2%}")"""),
    ("md", """\
The learning curves: training loss keeps falling while the validation loss
flattens out, the usual sign that more epochs would start to overfit. With
validation data, `fit` ends with the weights of the epoch with the lowest
validation loss (`history.best_epoch`)."""),
    ("code", """\
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for ax, key in zip(axes, ["loss", "acc"]):
    ax.plot(history["epoch"], history[key], label="training")
    ax.plot(history["epoch"], history["val_" + key], label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel({"loss": "loss", "acc": "accuracy"}[key])
    ax.legend()
fig.suptitle("784-100-10 ReLU on mnist-sample")
plt.show()
print("best validation epoch:", history.best_epoch)"""),
    ("md", """\
The digits it gets wrong, with what it answered and how sure it was. Many of
them are ones a person would hesitate over too."""),
    ("code", """\
proba = net.predict_proba(X_test)
pred = proba.argmax(axis=1)
wrong = np.flatnonzero(pred != ds.y_test)
print(f"{len(wrong)} of {len(ds.y_test)} test digits misclassified")

fig, axes = plt.subplots(3, 8, figsize=(10, 4.2))
for ax, i in zip(axes.flat, wrong):
    ax.imshow(ds.X_test[i], cmap="gray_r")
    ax.set_title(f"{ds.y_test[i]} → {pred[i]} ({proba[i, pred[i]]:.0%})", fontsize=9)
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("true → predicted (confidence)")
plt.show()"""),
    ("md", """\
Which classes it confuses, counted (rows: true class, columns: predicted):"""),
    ("code", """\
confusion = np.zeros((10, 10), dtype=int)
np.add.at(confusion, (ds.y_test, pred), 1)
print("     " + " ".join(f"{k:4d}" for k in range(10)))
for k in range(10):
    print(f"{k:4d} " + " ".join(f"{v:4d}" for v in confusion[k]))"""),
    ("md", """\
## Where to go next

* `backprop train --dataset mnist-sample` trains the package's best recipe
  (784-800-10, dropout, distortions of the digits) to about 98.8 % on the same
  test digits, and writes a report with these plots.
* `backprop serve MODEL` lets you draw a digit in the browser and watch the
  network answer.
* `backprop gradcheck` and `backprop explain --layers 4,5,5,3 --activation tanh`
  check the derivation on other shapes."""),
]


def build() -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for kind, source in CELLS:
        nb.cells.append(new_markdown_cell(source) if kind == "md" else new_code_cell(source))
    return nb


if __name__ == "__main__":
    path = Path(__file__).with_name("learn-backprop.ipynb")
    nbformat.write(build(), path)
    print(f"wrote {path}")
