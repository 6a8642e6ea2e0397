"""Trained models: the Model type, model files (bounded reading), checkpoints, safetensors and ONNX.

``backprop.load(path)`` returns a :class:`backprop.model.model.Model`.
"""
