"""Training: CLMP, LoRA adaptation and the mm-LLM (see DESIGN.md). Only the `mmfm` CLI imports this package."""
