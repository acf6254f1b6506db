"""`mmfm sim`: generate simulated radar datasets and preview scenarios.

mmfm sim generate --out data/sim --num 1000 --seed 0 --shard 0/4 --backend scatter --radar random
mmfm sim generate --out /tmp/tiny --num 4 --seed 1 --radar iwr1843boost_raw_activity --window-s 0.2
mmfm sim generate --out /tmp/rt --num 2 --seed 0 --backend sionna --radar iwr1843boost_demo --rays 5000
mmfm sim generate --out data/sim --num 100000 --num-shards 100 --executor ray --address auto
mmfm sim generate --out /shared/sim --num 100000 --num-shards 100 --executor slurm --dry-run
mmfm sim verify data/sim
mmfm sim plan --num 1000000 --workers 64 --from data/sim
mmfm sim preview --prompt "an elderly woman doing squats in the kitchen" --seed 3 --out preview.png

``generate`` writes the samples ``k`` with ``k % n == i`` for ``--shard i/n`` (all shards of
``--num-shards`` without it), skips complete shards and regenerates partial ones; the format is in
``sim/dataset/FORMAT.md`` and ``runtime.dataset.open_dataset`` reads it. Bad input (unknown activity in
``--prompt``, impossible placement, invalid config) prints one error line and exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from mmfm.commands.common import InputError as _InputError
from mmfm.commands.common import load_radar_config

BACKEND_HELP = (
    "propagation backend (default scatter: point scatterers on the meshes, fast; sionna: Sionna RT "
    "ray tracing, slower, needs LLVM >= 16 on a CPU)"
)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "sim",
        help="simulate radar data: generate datasets, preview scenarios",
        description="Simulate captioned radar data in generated rooms with moving, breathing people.",
    )
    sub = p.add_subparsers(dest="sim_command", metavar="SIM_COMMAND")

    g = sub.add_parser(
        "generate",
        help="write a sharded, resumable, deterministic dataset",
        description="Write a sharded, resumable, deterministic dataset (sim/dataset/FORMAT.md).",
    )
    g.add_argument("--out", required=True, help="dataset directory")
    g.add_argument("--num", type=int, required=True, help="number of samples in the whole dataset")
    g.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    which = g.add_mutually_exclusive_group()
    which.add_argument(
        "--shard", help="write only shard i of n (samples k with k %% n == i), e.g. 0/4"
    )
    which.add_argument(
        "--num-shards", type=int, default=1, help="write all n shards in this process (default 1)"
    )
    g.add_argument("--backend", choices=("scatter", "sionna"), default="scatter", help=BACKEND_HELP)
    g.add_argument(
        "--radar", default="random", help="bundled profile name, .cfg path, or 'random' (default)"
    )
    g.add_argument("--window-s", type=float, default=2.0, help="window length [s] (default 2.0)")
    g.add_argument(
        "--outputs",
        default="points,spectrogram",
        help="comma list of adc, points, spectrogram (default points,spectrogram; adc is big)",
    )
    scene = g.add_mutually_exclusive_group()
    scene.add_argument(
        "--prompt",
        help="fix the room and the people, each with their own activities, place and timing, e.g. "
        "'an elderly man falls in the kitchen while a woman sits on a chair'",
    )
    scene.add_argument(
        "--scene",
        metavar="FILE.json",
        help="a scene program (room + people; schema in sim/dataset/SCENES.md) instead of --prompt",
    )
    g.add_argument(
        "--judge",
        choices=("rules", "llm", "both"),
        default="rules",
        help="who turns --prompt into a scene program: rules (default: the rule parser), llm (the "
        "local base LLM under a grammar of the program's schema; the rule parser if it fails), both "
        "(the LLM's program, and whether the rule parser agrees)",
    )
    g.add_argument(
        "--judge-model",
        metavar="GGUF",
        help="the LLM judge's model (default: the mm-LLM's base Gemma 3 270M, which agrees with "
        "the rule parser on 5 of 10 benchmark prompts under the per-prompt grammar: "
        "benchmarks/bench_prompt_judge.py; a larger local instruction-tuned GGUF does better)",
    )
    g.add_argument(
        "--setup",
        choices=("home", "radhar"),
        default="home",
        help="home (default): the scene's wall mount, people anywhere in view; radhar: RadHAR's "
        "recording (IWR1443BOOST profile unless --radar names one, radar on a tripod 1 m up, one "
        "person 1.3-2.1 m straight ahead facing it)",
    )
    g.add_argument(
        "--mount-height", type=float, metavar="M", help="radar height above the floor [m] (0.2-3)"
    )
    g.add_argument(
        "--tilt",
        type=float,
        metavar="DEG",
        help="downward tilt of the radar [deg] (0 = level, 0-60)",
    )
    g.add_argument(
        "--person-range",
        metavar="MIN,MAX",
        help="horizontal distance of each person from the radar [m], e.g. 1.3,2.1",
    )
    g.add_argument(
        "--person-azimuth",
        metavar="MIN,MAX",
        help="azimuth of each person from boresight [deg], + = right, within -60..60; "
        "write negative values as --person-azimuth=-10,10",
    )
    g.add_argument("--workers", type=int, default=1, help="processes per shard (default 1)")
    g.add_argument(
        "--max-bounces",
        type=int,
        default=2,
        help="1 = direct paths only, 2 = + wall multipath (default 2)",
    )
    g.add_argument(
        "--density", help="scatterers per m^2 as PERSON,OTHER (scatter backend; default 1500,30)"
    )
    g.add_argument(
        "--rays",
        type=int,
        default=20_000,
        help="rays shot per frame (sionna backend; default 20000, more = denser diffuse paths, slower)",
    )
    g.add_argument(
        "--raycaster",
        choices=("embree", "numpy"),
        default="embree",
        help="occlusion test of the scatter backend (default embree: a BVH through embreex, the "
        "room prepared once per sample; numpy: the reference, everything per frame, about 30x "
        "slower; both give the same samples on the test scenes)",
    )
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    g.add_argument(
        "--executor",
        choices=("local", "ray", "slurm"),
        default="local",
        help="where shards run: local (default: this process, --workers per shard), ray (one task "
        "per shard), slurm (one array task per shard, through submitit)",
    )
    g.add_argument(
        "--address",
        help="Ray cluster: 'auto' or an address (default: start a local Ray instance)",
    )
    g.add_argument(
        "--max-retries",
        type=int,
        default=3,
        help="ray: retries of a shard whose worker died (default 3)",
    )
    g.add_argument(
        "--dry-run",
        action="store_true",
        help="slurm: write DIR/slurm/generate.sbatch (an array script) instead of submitting",
    )
    g.add_argument(
        "--slurm-time", type=int, default=60, help="slurm: minutes per shard (default 60)"
    )
    g.add_argument("--partition", help="slurm: partition (default: the cluster's)")
    g.set_defaults(func=_run_generate)

    c = sub.add_parser(
        "verify",
        help="check every shard of a dataset against its manifest (sizes + sha256)",
        description="Check every shard against its manifest: one line per shard (complete, "
        "incomplete, corrupted); exit 1 when any is not complete. Rerunning the generate command "
        "regenerates exactly those shards.",
    )
    c.add_argument("dir", help="dataset directory")
    c.set_defaults(func=_run_verify)

    pl = sub.add_parser(
        "plan",
        help="projected time and storage of N samples from a measured generation cost",
        description="Project CPU time, wall time on --workers cores and storage for --num samples, "
        "from a dataset's cost.json (--from) or a small run measured now.",
    )
    pl.add_argument("--num", type=int, required=True, help="samples to plan for")
    pl.add_argument(
        "--workers", type=int, required=True, help="single-core workers (shards at once)"
    )
    pl.add_argument("--from", dest="source", metavar="DIR", help="read the cost of this dataset")
    pl.add_argument(
        "--measure", type=int, default=4, help="samples to generate when measuring (default 4)"
    )
    pl.add_argument("--radar", default="random", help="as for generate (when measuring)")
    pl.add_argument("--window-s", type=float, default=2.0, help="as for generate (when measuring)")
    pl.add_argument(
        "--outputs", default="points,spectrogram", help="as for generate (when measuring)"
    )
    pl.add_argument("--seed", type=int, default=0, help="as for generate (when measuring)")
    pl.set_defaults(func=_run_plan)

    v = sub.add_parser(
        "preview",
        help="render one scenario (top view, range-Doppler, micro-Doppler, captions) as a PNG",
        description="Render one scenario as a PNG: top view with people and the radar's field of view, the "
        "range-Doppler map and the micro-Doppler spectrogram, and its captions.",
    )
    v.add_argument(
        "--prompt", help="scene and activity, e.g. 'a person walking in the living room'"
    )
    v.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    v.add_argument("--out", default="preview.png", help="PNG path (default preview.png)")
    v.add_argument(
        "--radar",
        default="iwr1843boost_raw_activity",
        help="bundled profile name, .cfg path or 'random' (default %(default)s)",
    )
    v.add_argument("--window-s", type=float, default=2.0, help="window length [s] (default 2.0)")
    v.add_argument("--backend", choices=("scatter", "sionna"), default="scatter", help=BACKEND_HELP)
    v.set_defaults(func=_run_preview)
    p.set_defaults(func=lambda args: _usage(p))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _check_radar(radar: str) -> None:
    """A ``--radar`` .cfg or profile with errors: its first error as ``file:line: message``."""
    if radar != "random":
        load_radar_config(radar)


def _check_backend(backend: str) -> None:
    """Refuse a backend that cannot run here before any work starts (one line saying what to install)."""
    if backend == "sionna":
        from sim.propagation._mitsuba import unavailable_reason

        reason = unavailable_reason()
        if reason:
            raise _InputError(f"backend sionna: {reason}")


def _trace_options(args: argparse.Namespace) -> Any:
    from sim.dataset.simulate import TraceOptions

    density = None
    if getattr(args, "density", None):
        try:
            person, other = (float(x) for x in args.density.split(","))
        except ValueError:
            raise _InputError(
                f"--density must be PERSON,OTHER (two numbers), got {args.density!r}"
            ) from None
        if person <= 0 or other <= 0:
            raise _InputError("--density values must be positive")
        density = {"person": person, "default": other}
    if args.max_bounces not in (1, 2, 3):
        raise _InputError(f"--max-bounces must be 1, 2 or 3, got {args.max_bounces}")
    rays = getattr(args, "rays", TraceOptions.samples_per_src)
    if rays < 1:
        raise _InputError(f"--rays must be >= 1, got {rays}")
    return TraceOptions(
        density_per_m2=density,
        max_bounces=args.max_bounces,
        samples_per_src=rays,
        raycaster=getattr(args, "raycaster", TraceOptions.raycaster),
    )


def _pair(text: str | None, option: str) -> tuple[float, float] | None:
    """``"MIN,MAX"`` -> (min, max); an InputError naming ``option`` otherwise."""
    if text is None:
        return None
    try:
        a, b = (float(x) for x in text.split(","))
    except ValueError:
        raise _InputError(f"{option} must be MIN,MAX (two numbers), got {text!r}") from None
    if a > b:
        raise _InputError(f"{option} must have MIN <= MAX, got {text!r}")
    return a, b


def _judged_program(args: argparse.Namespace) -> tuple[dict[str, Any], str] | None:
    """With ``--judge llm|both`` and ``--prompt``: the judged scene program as a dict and the file
    it is written to (``DIR/scene_program.json``, which the card's command reads); None otherwise."""
    if args.judge == "rules":
        return None
    if not args.prompt:
        raise _InputError("--judge llm|both reads --prompt: give one")
    from sim.dataset.llm_judge import judge_scene_program

    try:
        judged = judge_scene_program(args.prompt, args.judge, gguf=args.judge_model)
    except ValueError as exc:
        raise _InputError(str(exc)) from None
    note = f" ({judged.note})" if judged.note else ""
    program = judged.program.model_dump(mode="json")
    # the card's regenerating command reads the program from this file (no LLM needed again)
    path = Path(args.out) / "scene_program.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(program, indent=2) + "\n", encoding="utf-8")
    print(
        f"mmfm sim generate: scene program by the {judged.judge} judge{note}: {path}",
        file=sys.stderr,
    )
    return program, str(path)


def _scene_program(path: str | None) -> dict[str, Any] | None:
    """The ``--scene`` file's program as a dict (validated; errors name the file and key)."""
    if path is None:
        return None
    from sim.dataset.program import ProgramError, load_scene_program

    try:
        return load_scene_program(path).model_dump(mode="json")
    except ProgramError as exc:
        raise _InputError(str(exc)) from None


def _run_generate(args: argparse.Namespace) -> int:
    from sim.dataset.scenario import ScenarioError
    from sim.dataset.writer import GenerateSpec, generate, parse_shard

    try:
        outputs = tuple(sorted({o.strip() for o in args.outputs.split(",") if o.strip()}))
        if args.workers < 1:
            raise _InputError(f"--workers must be >= 1, got {args.workers}")
        if args.num_shards < 1:
            raise _InputError(f"--num-shards must be >= 1, got {args.num_shards}")
        judged = _judged_program(args)
        spec = GenerateSpec(
            num=args.num,
            seed=args.seed,
            backend=args.backend,
            radar=args.radar,
            window_s=args.window_s,
            outputs=outputs,
            prompt=None if judged is not None else args.prompt,
            trace=_trace_options(args),
            scene=judged[1] if judged is not None else args.scene,
            program=judged[0] if judged is not None else _scene_program(args.scene),
            setup=None if args.setup == "home" else args.setup,
            mount_height_m=args.mount_height,
            tilt_deg=args.tilt,
            person_range_m=_pair(args.person_range, "--person-range"),
            person_azimuth_deg=_pair(args.person_azimuth, "--person-azimuth"),
        )
        if spec.person_range_m is not None and spec.person_range_m[0] <= 0:
            raise _InputError(f"--person-range must be positive [m], got {args.person_range!r}")
        if spec.person_azimuth_deg is not None and not (
            -60 <= spec.person_azimuth_deg[0] and spec.person_azimuth_deg[1] <= 60
        ):
            raise _InputError(
                f"--person-azimuth must lie within -60..60 deg (the radar's view), "
                f"got {args.person_azimuth!r}"
            )
        _check_radar(args.radar)
        _check_backend(args.backend)
        try:
            unused = spec.unused_words()
        except ValueError:  # reported by generate() as the error it is
            unused = []
        if unused:
            print(
                f"mmfm sim generate: note: words not used in --prompt: {', '.join(unused)} "
                "(stored in each sample's truth as prompt_unused_words)",
                file=sys.stderr,
            )
        if args.shard:
            i, n = parse_shard(args.shard)
            shards: list[int] | None = [i]
        else:
            n, shards = args.num_shards, None
        progress = None if args.no_progress else _tqdm_progress
        if _write_sbatch(args, spec, n):
            return 0
        runner = _runner(args)
        t0 = time.perf_counter()
        report = generate(
            args.out,
            spec,
            shards=shards,
            num_shards=n,
            workers=args.workers,
            progress=progress,
            runner=runner,
        )
    except (_InputError, ScenarioError) as exc:
        print(f"mmfm sim generate: error: {exc}", file=sys.stderr)
        return 1
    except ImportError as exc:  # a backend's dependency (Sionna RT, Dr.Jit's LLVM) is unavailable
        print(f"mmfm sim generate: error: backend {args.backend}: {exc}", file=sys.stderr)
        return 1
    dt = time.perf_counter() - t0
    rate = report.samples_written / dt if dt > 0 else 0.0
    print(
        f"{args.out}: wrote {len(report.written)} shard(s) ({report.samples_written} samples, "
        f"{report.frames_written} frames, {rate:.2f} samples/s), skipped {len(report.skipped)} complete"
    )
    return 0


def _write_sbatch(args: argparse.Namespace, spec: Any, n: int) -> bool:
    """Check the executor options; with ``--executor slurm --dry-run`` write the script (True)."""
    from sim.dataset import executors

    if args.executor != "slurm" and args.dry_run:
        raise _InputError("--dry-run is for --executor slurm")
    if args.executor != "ray" and args.address:
        raise _InputError("--address is for --executor ray")
    if args.max_retries < 0:
        raise _InputError(f"--max-retries must be >= 0, got {args.max_retries}")
    if args.executor == "slurm" and args.shard:
        raise _InputError("--executor slurm runs every shard: use --num-shards, not --shard")
    if not args.dry_run:
        return False
    spec.validate()
    path = executors.write_sbatch(
        args.out, spec, n, time_min=args.slurm_time, partition=args.partition
    )
    print(f"{path}: sbatch array script, {n} task(s); submit with: sbatch {path}")
    return True


def _runner(args: argparse.Namespace) -> Any:
    """The shard runner of ``--executor`` (None: local, shards in this process)."""
    from sim.dataset import executors

    if args.executor == "ray":
        return executors.ray_runner(args.address, max_retries=args.max_retries)
    if args.executor == "slurm":
        return executors.slurm_runner(time_min=args.slurm_time, partition=args.partition)
    return None


def _run_verify(args: argparse.Namespace) -> int:
    from sim.dataset.verify import VerifyError, repair_command, verify_dataset

    try:
        statuses = verify_dataset(args.dir)
    except VerifyError as exc:
        print(f"mmfm sim verify: error: {exc}", file=sys.stderr)
        return 1
    for st in statuses:
        print(st.line())
    bad = [st for st in statuses if st.status != "complete"]
    print(f"{args.dir}: {len(statuses) - len(bad)} of {len(statuses)} shard(s) complete")
    if bad:
        command = repair_command(args.dir)
        if command:
            print(f"regenerate the damaged shard(s) with: {command}")
        return 1
    return 0


def _run_plan(args: argparse.Namespace) -> int:
    from sim.dataset.plan import make_plan, measure_cost, read_cost
    from sim.dataset.scenario import ScenarioError
    from sim.dataset.writer import GenerateSpec

    try:
        if args.num < 1 or args.workers < 1:
            raise _InputError("--num and --workers must be >= 1")
        if args.source:
            cost = read_cost(args.source)
        else:
            if args.measure < 1:
                raise _InputError(f"--measure must be >= 1, got {args.measure}")
            _check_radar(args.radar)
            outputs = tuple(sorted({o.strip() for o in args.outputs.split(",") if o.strip()}))
            spec = GenerateSpec(
                num=args.measure,
                seed=args.seed,
                radar=args.radar,
                window_s=args.window_s,
                outputs=outputs,
            )
            cost = measure_cost(spec)
    except (_InputError, ScenarioError, ValueError) as exc:
        print(f"mmfm sim plan: error: {exc}", file=sys.stderr)
        return 1
    for line in make_plan(cost, args.num, args.workers).lines(cost):
        print(line)
    return 0


def _tqdm_progress(iterable: Any, total: int, desc: str) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is in the [sim] extra; run without a bar otherwise
        return iterable
    return tqdm(iterable, total=total, desc=desc, unit="sample", file=sys.stderr)


def _run_preview(args: argparse.Namespace) -> int:
    from sim.dataset.scenario import ScenarioError

    try:
        from sim.dataset.preview import render_preview
        from sim.dataset.scenario import resolve_radar

        if not 0 < args.window_s <= 20:
            raise _InputError(f"--window-s must be within (0, 20], got {args.window_s}")
        _check_radar(args.radar)
        resolve_radar(args.radar)
        _check_backend(args.backend)
        doc = render_preview(
            args.out,
            prompt=args.prompt,
            seed=args.seed,
            radar=args.radar,
            window_s=args.window_s,
            backend=args.backend,
        )
    except (_InputError, ScenarioError) as exc:
        print(f"mmfm sim preview: error: {exc}", file=sys.stderr)
        return 1
    except ImportError as exc:
        if (exc.name or "").startswith("matplotlib"):
            print(
                f"mmfm sim preview: error: needs matplotlib (pip install 'mmfm[viz]'): {exc}",
                file=sys.stderr,
            )
        else:  # a backend's dependency (Sionna RT, Dr.Jit's LLVM) is unavailable
            print(f"mmfm sim preview: error: backend {args.backend}: {exc}", file=sys.stderr)
        return 1
    print(f"{args.out}: {doc['captions'][0]['text'] if doc['captions'] else ''}")
    return 0
