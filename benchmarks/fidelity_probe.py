"""Per-activity KS table and sim->real probe on RadHAR's setup (section 3 of ``fidelity_report.py``).

Point clouds of simulated windows (``benchmarks/fidelity_generate.py``: ``sample_scenario(setup=
"radhar", prompt="a person <activity> in the office")``, the ``iwr1443boost_radhar`` profile, cached
``.npz`` per window) against ``../shared/realdata/radhar-fewshot`` (TI demo points, ~30 frames/s):

* **KS table**: per activity, the two-sample Kolmogorov-Smirnov statistic of points per frame, range
  [m], height [m] (radar-frame z plus the setup's radar height; the same offset on both sides), |v|
  [m/s] and lateral spread per frame (standard deviation of x over a frame's points [m], frames with
  two points or more). Both clouds are cut to the recordings' range window (no real point lies beyond
  ``RANGE_WINDOW_M``: RadHAR's tool chain reports 0-5 m), the same cut on both sides.
* **sim->real probe**: position-free features of 1 s windows (below), a multinomial logistic regression
  (L2, L-BFGS) trained on the simulated windows and tested on 1 s windows cut from the real recordings;
  accuracy and per-class recall (chance 0.20), with real->real leave-one-recording-out as the ceiling.
  It asks whether what separates activities in simulation separates them in real data.

Features per window (:func:`window_features`): mean and std of points per frame; moving points per
frame; share of static points; share of frames with a moving point; |v| histogram of moving points
(0.6 m/s bins, last bin >= 3 m/s, normalised); moving points' |v| mean and std; standard deviations of
moving points' height and range (spread, not position); the dominant frequency [Hz] and its relative
power of the per-frame moving-point count (rhythm).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: RadHAR folder -> simulator activity (the folders of ``radhar-fewshot``).
FOLDERS = {
    "boxing": "boxing",
    "jack": "jumping_jacks",
    "jump": "jump",
    "squats": "squats",
    "walk": "walk",
}
#: Range window of the real recordings [m] (their farthest point is at 5.11 m).
RANGE_WINDOW_M = 5.12
#: RadHAR's radar height above the floor [m] (``sim.dataset.scenario.SETUPS["radhar"]``; the same
#: offset on both sides, so the KS statistics do not depend on it).
RADAR_HEIGHT_M = 1.27
#: Frame rate of the recordings and of the profile [frames/s].
FRAME_RATE_HZ = 30.0
#: Probe window length [frames] (1 s; longer simulated windows are cut into several).
WINDOW_FRAMES = 30
#: Doppler bin width of the ``iwr1443boost_radhar`` profile [m/s] (its header: 0.607 m/s, 16 bins).
VELOCITY_BIN_MPS = 0.607
METRICS = ("points_per_frame", "range_m", "height_m", "abs_v_mps", "lateral_spread_m")


@dataclass
class Clouds:
    """Frames of one activity: each a dict of float arrays ``x, y, z, v`` (radar frame, [m], [m/s])."""

    frames: list[dict[str, np.ndarray]]
    window_ids: np.ndarray  # [frames] which recording/window each frame belongs to


def _gate(f: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    r = np.sqrt(f["x"] ** 2 + f["y"] ** 2 + f["z"] ** 2)
    keep = r <= RANGE_WINDOW_M
    return {k: np.asarray(v, np.float64)[keep] for k, v in f.items()}


def load_real(root: Path) -> dict[str, list[list[dict[str, np.ndarray]]]]:
    """``{folder: [recording: [frame dict]]}`` from ``radhar-fewshot``."""
    from runtime.sources.radhar import read_radhar

    out: dict[str, list[list[dict[str, np.ndarray]]]] = {}
    for folder in FOLDERS:
        recs = []
        for path in sorted((root / folder).glob("*.txt")):
            recs.append([_gate({k: fr.points[k] for k in "xyzv"}) for fr in read_radhar(path)])
        out[folder] = recs
    return out


def load_sim(cache: Path) -> dict[str, list[list[dict[str, np.ndarray]]]]:
    """``{folder: [window: [frame dict]]}`` from the ``<activity>_<k>.npz`` files in ``cache``."""
    out: dict[str, list[list[dict[str, np.ndarray]]]] = {}
    for folder, act in FOLDERS.items():
        wins = []
        for path in sorted(cache.glob(f"{act}_*.npz")):
            if path.name.endswith(".tmp.npz"):
                continue
            d = np.load(path)
            off = d["offsets"]
            wins.append(
                [_gate({k: d[k][off[i] : off[i + 1]] for k in "xyzv"}) for i in range(len(off) - 1)]
            )
        out[folder] = wins
    return out


def metric_samples(frames: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The five KS metrics' samples over ``frames`` (module docstring)."""
    cat = {k: np.concatenate([f[k] for f in frames]) if frames else np.zeros(0) for k in "xyzv"}
    return {
        "points_per_frame": np.array([f["x"].size for f in frames], float),
        "range_m": np.sqrt(cat["x"] ** 2 + cat["y"] ** 2 + cat["z"] ** 2),
        "height_m": cat["z"] + RADAR_HEIGHT_M,
        "abs_v_mps": np.abs(cat["v"]),
        "lateral_spread_m": np.array([np.std(f["x"]) for f in frames if f["x"].size >= 2]),
    }


def ks_table(
    real: dict[str, list[list[dict[str, np.ndarray]]]],
    sims: dict[str, dict[str, list[list[dict[str, np.ndarray]]]]],
) -> dict[tuple[str, str, str], float]:
    """``{(set name, folder, metric): KS}`` for each simulated set in ``sims``."""
    from scipy.stats import ks_2samp

    out = {}
    for folder in FOLDERS:
        a = metric_samples([f for rec in real[folder] for f in rec])
        for name, sim in sims.items():
            b = metric_samples([f for w in sim.get(folder, []) for f in w])
            for m in METRICS:
                if a[m].size and b[m].size:
                    out[name, folder, m] = float(ks_2samp(a[m], b[m]).statistic)
                else:
                    out[name, folder, m] = 1.0  # nothing to compare: as far apart as it gets
    return out


def means(frames: Sequence[dict[str, np.ndarray]]) -> dict[str, float]:
    """Mean of each metric (for the table's context columns)."""
    s = metric_samples(frames)
    return {m: float(np.mean(s[m])) if s[m].size else float("nan") for m in METRICS}


def moving_summary(frames: Sequence[dict[str, np.ndarray]]) -> str:
    """Moving points: per frame, height p5-p95 [m], share with |v| > 3 m/s, share near range (< 0.1 m)."""
    if not frames:
        return "n/a"
    cat = {k: np.concatenate([f[k] for f in frames]) for k in "xyzv"}
    mov = cat["v"] != 0
    r = np.sqrt(cat["x"] ** 2 + cat["y"] ** 2 + cat["z"] ** 2)
    h = cat["z"][mov] + RADAR_HEIGHT_M
    hs = f"{np.percentile(h, 5):5.2f}..{np.percentile(h, 95):4.2f}" if h.size else "   n/a    "
    fast = float((np.abs(cat["v"][mov]) > 3.0).mean()) if mov.any() else 0.0
    return (
        f"moving/frame {mov.sum() / len(frames):5.2f}  height {hs} m  |v|>3 {fast:4.2f}  "
        f"near(<0.1 m)/frame {(r < 0.1).sum() / len(frames):4.2f}"
    )


def doppler_bin_summary(frames: Sequence[dict[str, np.ndarray]], max_bin: int = 8) -> str:
    """Moving points per frame by |Doppler bin| 1..``max_bin`` (bin 8 is the +-4.86 m/s Nyquist bin)."""
    if not frames:
        return "n/a"
    v = np.concatenate([f["v"] for f in frames])
    b = np.round(np.abs(v[v != 0]) / VELOCITY_BIN_MPS).astype(int)
    per = np.bincount(np.clip(b, 0, max_bin), minlength=max_bin + 1)[1:] / len(frames)
    return " ".join(f"{x:4.2f}" for x in per)


def window_features(frames: Sequence[dict[str, np.ndarray]]) -> np.ndarray:
    """Position-free features ``[F]`` of one window of frames (module docstring)."""
    n = np.array([f["x"].size for f in frames], float)
    mov = [f["v"] != 0 for f in frames]
    n_mov = np.array([m.sum() for m in mov], float)
    v = np.concatenate([np.abs(f["v"][m]) for f, m in zip(frames, mov, strict=True)])
    z = np.concatenate([f["z"][m] for f, m in zip(frames, mov, strict=True)])
    r = np.concatenate(
        [
            np.sqrt(f["x"] ** 2 + f["y"] ** 2 + f["z"] ** 2)[m]
            for f, m in zip(frames, mov, strict=True)
        ]
    )
    hist = np.histogram(np.minimum(v, 3.0), bins=[0.0, 0.9, 1.5, 2.1, 2.7, 3.1])[0].astype(float)
    hist = hist / max(hist.sum(), 1.0)
    total = max(n.sum(), 1.0)
    spec = np.abs(np.fft.rfft(n_mov - n_mov.mean())) ** 2
    freqs = np.fft.rfftfreq(n_mov.size, 1.0 / FRAME_RATE_HZ)
    k = int(np.argmax(spec[1:])) + 1 if spec.size > 1 else 0
    rhythm_hz = float(freqs[k]) if spec[1:].sum() > 0 else 0.0
    rhythm_share = float(spec[k] / spec[1:].sum()) if spec[1:].sum() > 0 else 0.0
    return np.array(
        [
            n.mean(),
            n.std(),
            n_mov.mean(),
            1.0 - n_mov.sum() / total,
            float((n_mov > 0).mean()),
            *hist,
            v.mean() if v.size else 0.0,
            v.std() if v.size else 0.0,
            z.std() if z.size else 0.0,
            r.std() if r.size else 0.0,
            rhythm_hz,
            rhythm_share,
        ]
    )


def windows(recs: list[list[dict[str, np.ndarray]]]) -> tuple[list[np.ndarray], list[int]]:
    """Cut recordings into whole :data:`WINDOW_FRAMES` windows -> (features, recording index)."""
    feats, rec_ids = [], []
    for i, rec in enumerate(recs):
        for s in range(0, len(rec) - WINDOW_FRAMES + 1, WINDOW_FRAMES):
            feats.append(window_features(rec[s : s + WINDOW_FRAMES]))
            rec_ids.append(i)
    return feats, rec_ids


def fit_logreg(x: np.ndarray, y: np.ndarray, classes: int, l2: float = 1.0) -> np.ndarray:
    """Multinomial logistic regression weights ``[F + 1, classes]`` (standardised inputs, L2)."""
    from scipy.optimize import minimize

    xb = np.hstack([x, np.ones((x.shape[0], 1))])
    onehot = np.eye(classes)[y]

    def loss(wf: np.ndarray) -> tuple[float, np.ndarray]:
        w = wf.reshape(xb.shape[1], classes)
        z = xb @ w
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        reg = 0.5 * l2 * (w[:-1] ** 2).sum()
        nll = -np.sum(onehot * np.log(np.maximum(p, 1e-12))) + reg
        grad = xb.T @ (p - onehot)
        grad[:-1] += l2 * w[:-1]
        return float(nll), grad.ravel()

    res = minimize(loss, np.zeros(xb.shape[1] * classes), jac=True, method="L-BFGS-B")
    return res.x.reshape(xb.shape[1], classes)


def predict(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.argmax(np.hstack([x, np.ones((x.shape[0], 1))]) @ w, axis=1)


def probe(
    train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray], classes: int
) -> tuple[float, np.ndarray]:
    """Train on ``train`` (features, labels), test on ``test`` -> (accuracy, recall per class)."""
    mu, sd = train[0].mean(axis=0), train[0].std(axis=0) + 1e-6
    w = fit_logreg((train[0] - mu) / sd, train[1], classes)
    pred = predict(w, (test[0] - mu) / sd)
    acc = float((pred == test[1]).mean())
    recall = np.array(
        [
            (pred[test[1] == c] == c).mean() if (test[1] == c).any() else np.nan
            for c in range(classes)
        ]
    )
    return acc, recall


def feature_set(data: dict[str, list[list[dict[str, np.ndarray]]]]) -> tuple[np.ndarray, ...]:
    """(features [N, F], labels [N], recording ids [N]) of every whole window in ``data``."""
    xs, ys, gs = [], [], []
    for c, folder in enumerate(FOLDERS):
        f, rid = windows(data.get(folder, []))
        xs += f
        ys += [c] * len(f)
        gs += [c * 1000 + i for i in rid]
    return np.array(xs), np.array(ys), np.array(gs)


def real_loro(real: tuple[np.ndarray, ...], classes: int) -> float:
    """Real->real accuracy, leave one recording out."""
    x, y, g = real
    hits = 0
    for rec in np.unique(g):
        te = g == rec
        acc, _ = probe((x[~te], y[~te]), (x[te], y[te]), classes)
        hits += acc * te.sum()
    return hits / len(y)
