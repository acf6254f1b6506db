"""Simulator: scenes, people, propagation and FMCW ADC synthesis (see DESIGN.md; built by the simulator issue)."""
