"""mm-LLM training data and (later) projector SFT. Instruction pairs: :mod:`training.llm.instructions`."""
