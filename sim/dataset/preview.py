"""``mmfm sim preview``: one scenario rendered as a PNG a person can check.

Panels: the top view (room outlines, furniture footprints with labels, doors, the people's paths over
their timelines with the window highlighted, detected points of the window in world coordinates, the
radar and its azimuth field of view), the range-Doppler map of the window's middle frame, the
micro-Doppler spectrogram of the window, and the captions. matplotlib with the Agg backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sim.dataset.scenario import Scenario, sample_scenario
from sim.dataset.simulate import SampleData, TraceOptions, simulate_sample

#: Azimuth field of view drawn as the radar's wedge [deg] (full angle).
FOV_AZ_DEG = 120.0
_PERSON_COLORS = ("tab:red", "tab:blue", "tab:green", "tab:purple")


def _rect(
    ax: Any, center: list[float], size: tuple[float, float], yaw_deg: float, **kw: Any
) -> None:
    from matplotlib.patches import Polygon

    w, d = size
    c, s = np.cos(np.radians(yaw_deg)), np.sin(np.radians(yaw_deg))
    corners = np.array([[-w / 2, -d / 2], [w / 2, -d / 2], [w / 2, d / 2], [-w / 2, d / 2]])
    rot = corners @ np.array([[c, s], [-s, c]]) + np.asarray(center[:2])
    ax.add_patch(Polygon(rot, closed=True, **kw))


def _top_view(ax: Any, scenario: Scenario, data: SampleData) -> None:
    scene = scenario.scene()
    desc = data.doc["truth"]["room"]
    for room in desc["rooms"]:
        x0, y0, x1, y1 = room["bounds"]
        ax.plot([x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0], color="black", lw=2)
        ax.text(
            x0 + 0.1,
            y1 - 0.1,
            room["room_type"].replace("_", " "),
            va="top",
            fontsize=8,
            style="italic",
        )
    for obj in desc["objects"]:
        label = obj["label"]
        if label in ("door", "window"):
            color = "tab:brown" if label == "door" else "deepskyblue"
            _rect(
                ax,
                obj["position"],
                (obj["size_m"][0], max(obj["size_m"][1], 0.08)),
                obj["yaw_deg"],
                facecolor=color,
                edgecolor=color,
                alpha=0.9,
            )
            continue
        _rect(
            ax,
            obj["position"],
            (obj["size_m"][0], obj["size_m"][1]),
            obj["yaw_deg"],
            facecolor="0.85",
            edgecolor="0.4",
            lw=0.8,
        )
        ax.text(
            obj["position"][0],
            obj["position"][1],
            label.replace("_", " "),
            ha="center",
            va="center",
            fontsize=7,
        )
    # radar and its field of view
    pose = scene.radar
    rx, ry = pose.position[0], pose.position[1]
    bore = pose.rotation[:, 1]
    yaw = np.degrees(np.arctan2(bore[1], bore[0]))
    reach = min(scenario.radar_config().chirp.max_range_m, 1.2 * float(np.hypot(*scene.size_m[:2])))
    from matplotlib.patches import Wedge

    ax.add_patch(
        Wedge(
            (rx, ry),
            reach,
            yaw - FOV_AZ_DEG / 2,
            yaw + FOV_AZ_DEG / 2,
            facecolor="gold",
            alpha=0.12,
            edgecolor="darkgoldenrod",
            lw=1.5,
        )
    )
    ax.plot([rx], [ry], marker="s", color="goldenrod", ms=9, mec="black")
    ax.annotate(
        "radar", (rx, ry), xytext=(4, 4), textcoords="offset points", fontsize=8, weight="bold"
    )
    # people: whole timeline path (thin) and the window (thick), detected points
    humans = scenario.humans()
    t0, t1 = scenario.window_start_s, scenario.window_start_s + scenario.window_s
    for k, h in enumerate(humans):
        col = _PERSON_COLORS[k % len(_PERSON_COLORS)]
        ts = np.linspace(h.timeline.start_s, h.timeline.end_s, 120)
        path = np.array([h.pose_at(float(t)).position for t in ts])
        ax.plot(path[:, 0], path[:, 1], color=col, lw=1, alpha=0.5)
        pos = data.arrays["positions"][k]
        ax.plot(pos[:, 0], pos[:, 1], color=col, lw=3)
        act = data.doc["truth"]["people"][k]["activity"].replace("_", " ")
        ax.plot([pos[-1, 0]], [pos[-1, 1]], "o", color=col, ms=8, mec="black")
        ax.annotate(
            f"P{k + 1}: {act}",
            (pos[-1, 0], pos[-1, 1]),
            xytext=(6, -10),
            textcoords="offset points",
            fontsize=8,
            color=col,
            weight="bold",
        )
    if "points" in data.arrays and len(data.arrays["points"]):
        pts = data.arrays["points"]
        world = pose.to_world(np.stack([pts["x"], pts["y"], pts["z"]], axis=1).astype(float))
        ax.scatter(
            world[:, 0],
            world[:, 1],
            s=6,
            c="black",
            alpha=0.5,
            label=f"detected points ({len(pts)})",
        )
        ax.legend(loc="lower right", fontsize=7)
    xs = [b for r in desc["rooms"] for b in (r["bounds"][0], r["bounds"][2])]
    ys = [b for r in desc["rooms"] for b in (r["bounds"][1], r["bounds"][3])]
    ax.set_xlim(min(xs) - 0.5, max(xs) + 0.5)
    ax.set_ylim(min(ys) - 0.5, max(ys) + 0.5)
    ax.set_aspect("equal")
    ax.set_xlabel("x (east) [m]")
    ax.set_ylabel("y (north) [m]")
    ax.set_title(f"top view, window {t0:.1f}-{t1:.1f} s")


def render_preview(
    out: str | Path,
    *,
    prompt: str | None = None,
    seed: int = 0,
    radar: str = "iwr1843boost_raw_activity",
    window_s: float = 2.0,
    backend: str = "scatter",
    trace_options: TraceOptions | None = None,
) -> dict[str, Any]:
    """Simulate one scenario and write the preview PNG to ``out``; returns the sample's JSON document.

    Raises:
        sim.dataset.scenario.ScenarioError: bad prompt / placement / config.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenario = sample_scenario(seed, 0, radar=radar, prompt=prompt, window_s=window_s)
    data = simulate_sample(
        scenario,
        backend=backend,
        outputs=("points", "spectrogram"),
        trace_options=trace_options,
        keep_frames=True,
    )
    cfg = scenario.radar_config().chirp
    fig = plt.figure(figsize=(15, 9.5), layout="constrained")
    grid = fig.add_gridspec(3, 2, height_ratios=[1, 1, 0.42], width_ratios=[1.25, 1])
    _top_view(fig.add_subplot(grid[0:2, 0]), scenario, data)

    from runtime.dsp.chain import make_plan

    plan = make_plan(scenario.radar_config())
    ax = fig.add_subplot(grid[0, 1])
    rd = data.range_doppler_db  # [doppler, range]
    vmax = float(rd.max())
    im = ax.imshow(
        rd.T,
        origin="lower",
        aspect="auto",
        cmap="viridis",
        vmin=vmax - 50,
        vmax=vmax,
        extent=[
            plan.velocity_axis_mps[0],
            plan.velocity_axis_mps[-1],
            plan.range_axis_m[0],
            plan.range_axis_m[-1],
        ],
    )
    for k, p in enumerate(data.doc["truth"]["people"]):
        ax.plot(
            [p["radial_velocity_mps"]],
            [p["range_m"]],
            "x",
            color=_PERSON_COLORS[k % 4],
            ms=10,
            mew=2,
        )
    fig.colorbar(im, ax=ax, label="dB")
    ax.set_xlabel("radial velocity [m/s] (+ away)")
    ax.set_ylabel("range [m]")
    ax.set_title(f"range-Doppler, frame {scenario.num_frames // 2} (x: people truth)")

    ax = fig.add_subplot(grid[1, 1])
    spec = data.arrays["spectrogram"].astype(np.float32)  # [frames, doppler]
    vel = data.arrays["spectrogram_velocity_mps"]
    times = data.arrays["frame_times_s"]
    vmax = float(spec.max())
    dt = cfg.frame_period_s
    im = ax.imshow(
        spec.T,
        origin="lower",
        aspect="auto",
        cmap="magma",
        vmin=vmax - 40,
        vmax=vmax,
        extent=[times[0], times[-1] + dt, vel[0], vel[-1]],
    )
    fig.colorbar(im, ax=ax, label="dB")
    gate = data.doc["truth"]["spectrogram_range_gate_m"]
    ax.set_xlabel("time [s]")
    ax.set_ylabel("radial velocity [m/s]")
    ax.set_title(f"micro-Doppler, range gate {gate[0]:.1f}-{gate[1]:.1f} m")

    ax = fig.add_subplot(grid[2, :])
    ax.axis("off")
    lines = [f"[{c['granularity']}] {c['text']}" for c in data.doc["captions"]]
    head = f"{scenario.radar_profile} ({cfg.board}), {scenario.num_frames} frames, seed {seed}" + (
        f", prompt: {prompt!r}" if prompt else ""
    )
    ax.text(
        0.0,
        1.0,
        head + "\n" + "\n".join(lines),
        va="top",
        ha="left",
        fontsize=8.5,
        family="monospace",
    )
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return data.doc
