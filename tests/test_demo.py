"""`mmfm demo` end to end (slow tier): render (or load) the scene, stream it through the fake DCA1000
into the daemon, print the events (activities included) and the checks, then ask the daemon three
questions over ZeroMQ and print the answers beside the truth; exit 0 when the daemon saw what
happened (and, with a trained mm-LLM, answered right)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_mmfm_demo_runs_and_passes_its_checks() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mmfm", "demo", "--speed", "3", "--no-mqtt", "--no-progress"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    out = proc.stdout
    assert "truth: A walks in through the door" in out, proc.stderr[-3000:]
    assert "summary" in out and "checks" in out, proc.stderr[-3000:]
    assert "occupancy" in out
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-3000:]
    assert "mmfm demo: ok" in out
    assert " activity " in out  # the CLMP encoder stage's live activity events
    if importlib.util.find_spec("llama_cpp") is not None:
        # the three questions went through the daemon's question path and came back answered
        for question in ("How many people are in the room?", "Did anyone fall?"):
            assert f"Q: {question}" in out
        assert out.count("truth:  ") == 3 and "no reply" not in out
