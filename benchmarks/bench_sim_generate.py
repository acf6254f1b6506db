"""`mmfm sim generate` end to end: samples/s and frames/s, scatter backend, one process.

    .venv/bin/python benchmarks/bench_sim_generate.py            # ~1 min

Two configurations in one run, each through the real CLI code path (``sim.dataset.writer.generate``):
a small one (IWR1843BOOST, 3 TX x 4 RX x 16 loops x 64 samples, low scatterer density, direct paths
only; what the tests use) and the default one (``iwr1843boost_raw_activity``: 3 x 4 x 128 x 256, default
density, wall multipath), 0.5 s windows, outputs points + spectrogram. Printed with
the ratio default/small so that runs on other machines compare.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def tiny_cfg_text() -> str:
    from firmware_cfg import emit_cfg, load_cfg

    text = emit_cfg(load_cfg("iwr1843boost_raw_activity"))
    return text.replace("frameCfg 0 2 128 ", "frameCfg 0 2 16 ").replace(" 256 5000 ", " 64 5000 ")


def run(label: str, spec: object, out: Path) -> float:
    from sim.dataset.writer import generate

    t0 = time.perf_counter()
    report = generate(out, spec, num_shards=1)  # type: ignore[arg-type]
    dt = time.perf_counter() - t0
    print(
        f"{label:44s} {report.samples_written:3d} samples {report.frames_written:4d} frames "
        f"{dt:7.1f} s  {report.samples_written / dt:7.3f} samples/s  {report.frames_written / dt:7.2f} frames/s"
    )
    return report.frames_written / dt


def main() -> int:
    from sim.dataset.simulate import TraceOptions
    from sim.dataset.writer import GenerateSpec

    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "tiny.cfg"
        cfg.write_text(tiny_cfg_text())
        small = GenerateSpec(
            num=6,
            seed=0,
            radar=str(cfg),
            window_s=0.5,
            outputs=("points", "spectrogram"),
            trace=TraceOptions(density_per_m2={"person": 300.0, "default": 10.0}, max_bounces=1),
        )
        full = GenerateSpec(
            num=2,
            seed=0,
            radar="iwr1843boost_raw_activity",
            window_s=0.5,
            outputs=("points", "spectrogram"),
        )
        f_small = run("small (1843 16x64, sparse, direct), 0.5 s", small, Path(tmp) / "small")
        f_full = run("default (1843 128x256, multipath), 0.5 s", full, Path(tmp) / "full")
        print(f"ratio default/small frames/s: {f_full / f_small:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
