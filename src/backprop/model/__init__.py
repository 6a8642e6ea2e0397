"""Trained models on disk: model files, checkpoints and ONNX export."""
