"""XOR: what a single perceptron cannot learn and a 2-3-1 network can.

    python examples/xor.py
"""

import numpy as np

from backprop import Network, Perceptron, fit

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
y = np.array([0, 1, 1, 0])

perceptron = Perceptron(epochs=1000, seed=0).fit(X, y)
print("perceptron:", perceptron.predict(X), f"accuracy {np.mean(perceptron.predict(X) == y):.0%}")

# The seed's network: sigmoid hidden and output layers, cross-entropy, gradient descent.
# 2-3-1, full-batch GD, lr 2.0, 2000 epochs learns XOR for every seed 0-9 (tests/test_training.py).
net = Network([2, 3, 1], activation="sigmoid", seed=0)
history = fit(net, X, y, optimizer="gd", lr=2.0, epochs=2000)
print("2-3-1 network:", net.predict(X), f"accuracy {np.mean(net.predict(X) == y):.0%}",
      f"loss {history['loss'][0]:.3f} -> {history['loss'][-1]:.4f}")
print("outputs:", net.predict_proba(X).ravel().round(3))
