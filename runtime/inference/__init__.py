"""On-device inference with ONNX Runtime (numpy only, never torch).

- ``runtime.inference.encoder``: :class:`~runtime.inference.encoder.PointEncoder` (the CLMP point
  encoder, int8 by default) and zero-shot scoring against a model's text prototypes.
- ``runtime.inference.window`` (owned with the CLMP model): frames -> the padded ``[T, P, 5]`` window
  the encoder takes; the same code prepares training inputs.
- ``runtime.inference.tracks``: a frame's points split among its confirmed tracks, with their zones
  (the per-track activity windows).
- ``runtime.inference.stage``: the encoder stage (windows -> embeddings -> activity events).

Import the submodules directly; this package imports nothing, so ``window`` stays light (no
onnxruntime) for training code that only needs it.
"""
