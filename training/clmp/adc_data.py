"""Training data for the raw-ADC CLMP encoder: simulated samples with ADC -> map windows.

Like :func:`training.clmp.data.load_windows` (:func:`windows_loader` picks this one for an ``adc``
input contract: training and ``mmfm eval``), a sample is cut into windows of ``window_s`` every ``stride_s``; each window goes through the runtime's
front end (:func:`runtime.inference.adc_window.adc_window_arrays`, the code the hub runs on DCA1000
frames) with the sample's own radar configuration (its ``.cfg`` text), so samples of different
boards and chirp configurations land on the same physical grids. The returned
:class:`~training.clmp.data.WindowSet` holds the maps in ``points`` (``[N, T, C, R, K]``) and the
slot mask in ``mask`` (``[N, T]``); captions, activities and the held-out split are the point
encoder's.

Computing the maps costs about as much as the DSP of the point clouds, so the windows of a finished
dataset are cached under ``$MMFM_CACHE/clmp-adc-windows/`` (:func:`cache_path`: keyed by the
dataset's ``index.json``, the contract, the stride and the front end's version); ``python -m
training.clmp.adc_data`` writes them (and a ``.npz`` of all windows or of one split).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from firmware_cfg.parser import parse_cfg_text
from runtime.dataset import open_dataset
from runtime.inference.adc_window import adc_window_arrays, check_adc_contract


def windows_loader(contract: dict[str, Any]) -> Callable[..., Any]:
    """The window loader of a contract: :func:`load_adc_windows` for ``adc`` (raw-ADC models), else
    :func:`training.clmp.data.load_windows`; both take ``(root, contract, stride_s=..., verify=...)``."""
    from training.clmp.data import load_windows

    return load_adc_windows if contract.get("kind") == "adc" else load_windows


#: Bumped when the front end's output changes (invalidates cached windows).
FRONT_END_VERSION = "adc_window/1"


def cache_path(root: str | Path, contract: dict[str, Any], stride_s: float) -> Path | None:
    """Where the windows of a finished dataset are cached: ``$MMFM_CACHE/clmp-adc-windows/<key>.npz``
    with ``key`` the sha256 of the dataset's ``index.json`` (its spec, generator and shard hashes),
    the contract, the stride and :data:`FRONT_END_VERSION`; None for an unfinished dataset."""
    from runtime.llm.base_model import cache_dir

    try:
        index = (Path(root) / "index.json").read_bytes()
    except OSError:
        return None
    if not json.loads(index).get("complete"):
        return None
    key = hashlib.sha256()
    for part in (index, json.dumps(contract, sort_keys=True).encode(), f"{stride_s:.6f}".encode()):
        key.update(part)
        key.update(b"\0")
    key.update(FRONT_END_VERSION.encode())
    return cache_dir() / "clmp-adc-windows" / f"{key.hexdigest()[:32]}.npz"


def load_adc_windows(
    root: str | Path, contract: dict[str, Any], *, stride_s: float = 1.0, verify: bool = False
) -> Any:
    """Every window of every sample with ADC of dataset ``root`` (module docstring), from the cache
    (:func:`cache_path`) when this dataset, contract and stride were prepared before.

    Raises:
        runtime.dataset.DatasetError: not a dataset; ValueError: no sample holds raw ADC.
    """
    from training.clmp.data import load_saved_windows, save_windows

    check_adc_contract(contract)
    cached = None if verify else cache_path(root, contract, stride_s)
    if cached is not None and cached.is_file():
        ws = load_saved_windows(cached, contract)
        ws.source = [str(root)] * len(ws)
        return ws
    ws = _compute_windows(root, contract, stride_s=stride_s, verify=verify)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        save_windows(ws, cached, contract)
    return ws


def _compute_windows(
    root: str | Path, contract: dict[str, Any], *, stride_s: float, verify: bool
) -> Any:
    from training.clmp.data import WindowSet, sample_activity, window_frames

    ds = open_dataset(root, verify=verify)
    window_s = float(contract["window_s"])
    maps_l, mask_l, acts, caps, samples = [], [], [], [], []
    configs: dict[str, Any] = {}
    for s in ds:
        if s.adc is None:
            continue
        rc = configs.get(s.cfg_text)
        if rc is None:
            rc = configs[s.cfg_text] = parse_cfg_text(s.cfg_text, source=f"{root} ({s.index})")
        times = np.asarray(s.truth["frame_times_s"], dtype=np.float64)
        texts = [c["text"] for c in s.captions]
        act = sample_activity(s.truth)
        for sel in window_frames(times, window_s, stride_s):
            m, k = adc_window_arrays(s.adc[sel], times[sel], rc, contract)
            maps_l.append(m.astype(np.float16))
            mask_l.append(k)
            acts.append(act)
            caps.append(texts)
            samples.append(s.index)
    if not acts:
        raise ValueError(
            f"{root}: no window of {window_s:g} s: no sample with raw ADC (generate with "
            "--outputs adc) or every sample is shorter than the window"
        )
    return WindowSet(
        points=np.stack(maps_l).astype(np.float32),
        mask=np.stack(mask_l),
        activity=acts,
        captions=caps,
        sample=np.asarray(samples, dtype=np.int64),
        source=[str(root)] * len(acts),
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m training.clmp.adc_data --data DIR [DIR ...] --out W.npz [--model clmp_adc_s]
    [--holdout-every N --split heldout]``: compute the map windows once (for ``mmfm train clmp
    --windows W.npz``, or ``mmfm eval zeroshot|retrieval --data W.npz`` on a held-out split)."""
    from training.clmp.data import WindowSet, holdout_mask, save_windows
    from training.clmp.factory import model_config

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--data", nargs="+", required=True, help="dataset directories (with adc)")
    ap.add_argument("--out", required=True, help="output .npz")
    ap.add_argument("--model", default="clmp_adc_s", help="architecture (its input contract)")
    ap.add_argument("--stride-s", type=float, default=1.0, help="window stride [s] (default 1)")
    ap.add_argument(
        "--holdout-every",
        type=int,
        default=0,
        help="with --split: the held-out split of `mmfm train clmp --holdout-every N`",
    )
    ap.add_argument(
        "--split", choices=("all", "train", "heldout"), default="all", help="windows kept"
    )
    args = ap.parse_args(argv)
    contract = model_config(args.model)["input_contract"]
    sets = []
    for d in args.data:
        try:
            sets.append(load_adc_windows(d, contract, stride_s=args.stride_s))
        except ValueError as exc:
            print(f"skipping {d}: {exc}", file=sys.stderr)
    if not sets:
        print("error: no dataset with raw ADC windows", file=sys.stderr)
        return 1
    ws = WindowSet.concat(sets)
    if args.split != "all":
        held = np.zeros(len(ws), dtype=bool)
        for d in sorted(set(ws.source)):  # as training.clmp.train.prepare: by (dataset, sample)
            sel = np.array([s == d for s in ws.source])
            held[sel] = holdout_mask(ws.sample[sel], args.holdout_every)
        ws = ws.subset(np.flatnonzero(held if args.split == "heldout" else ~held))
    save_windows(ws, args.out, contract)
    print(f"{len(ws)} windows from {len(sets)} dataset(s) -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
