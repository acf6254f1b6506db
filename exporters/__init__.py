"""Exporters: encoders to ONNX (fp32/int8), LLM adapters to GGUF, model cards with sha256."""
