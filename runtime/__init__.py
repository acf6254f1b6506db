"""The edge runtime: sources, DSP, inference, events and publishers. Never imports torch, sim or training."""
