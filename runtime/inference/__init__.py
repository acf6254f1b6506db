"""On-hub inference: input windows (``window``) and the ONNX encoders (numpy + onnxruntime only)."""
