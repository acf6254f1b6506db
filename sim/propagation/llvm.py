"""Find an LLVM that Dr.Jit's CPU backend can use, before Dr.Jit loads one by itself.

Dr.Jit (Mitsuba, Sionna RT) JIT-compiles CPU kernels through whichever ``libLLVM`` it finds first
(``DRJIT_LIBLLVM_PATH``, else a glob over the system library folders). With LLVM 14/15, the versions a
fresh Debian 12 has, some of Sionna RT's kernels end the process with ``Fatal Python error: Aborted``
(no exception to catch). LLVM >= 16 works. So, before anything imports ``drjit``:

- :func:`probe_llvm` looks for candidates (``DRJIT_LIBLLVM_PATH`` when set, else ``libLLVM*.so*`` in the
  usual library folders and what ``ldconfig -p`` lists), newest version first, and checks each one by
  loading it **in a child process** (a broken library cannot take this process down) and asking it
  ``LLVMGetVersion`` (a C API that LLVM 16 introduced: a library without it is older than 16).
- :func:`configure_drjit_llvm` sets ``DRJIT_LIBLLVM_PATH`` to the first usable one and returns the
  probe, whose :attr:`LlvmProbe.reason` says what to install when there is none.

Used by :mod:`sim.propagation._mitsuba` (before ``import drjit``) and by ``tests/conftest.py`` (so the
Sionna tests skip with that reason instead of aborting the test run). A leaf module: standard library
only.
"""

from __future__ import annotations

import functools
import glob
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "DRJIT_LIBLLVM_PATH"
MIN_MAJOR = 16  # Dr.Jit's kernels abort with LLVM 14/15; 16+ works
INSTALL_HINT = (
    "install LLVM >= 16 (Debian 12: apt-get install libllvm19) or point "
    f"{ENV_VAR} at a libLLVM.so of version >= {MIN_MAJOR}"
)

# Where Dr.Jit and distributions put libLLVM (Debian/Ubuntu multiarch, llvm-N trees, RPM lib64,
# Homebrew on macOS).
SEARCH_GLOBS: tuple[str, ...] = (
    "/usr/lib/x86_64-linux-gnu/libLLVM*.so*",
    "/usr/lib/aarch64-linux-gnu/libLLVM*.so*",
    "/usr/lib/llvm-*/lib/libLLVM*.so*",
    "/usr/lib64/libLLVM*.so*",
    "/usr/lib/libLLVM*.so*",
    "/usr/local/lib/libLLVM*.so*",
    "/opt/homebrew/opt/llvm/lib/libLLVM.dylib",
    "/usr/local/opt/llvm/lib/libLLVM.dylib",
)

# The major version in a library's file name: libLLVM.so.19.1, libLLVM-15.so.1, libLLVM-14.0.6.so,
# /usr/lib/llvm-14/lib/libLLVM.so (from the folder).
_NAME_VERSION = re.compile(r"libLLVM(?:\.so)?[-.](\d+)")
_DIR_VERSION = re.compile(r"llvm-(\d+)")

# Run in a child process: load the library, print "major.minor.patch" or "old" (no LLVMGetVersion).
_CHECK = """
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1], mode=getattr(ctypes, "RTLD_LOCAL", 0))
try:
    get = lib.LLVMGetVersion
except AttributeError:
    print("old")
else:
    v = [ctypes.c_uint(), ctypes.c_uint(), ctypes.c_uint()]
    get(*(ctypes.byref(x) for x in v))
    print(".".join(str(x.value) for x in v))
"""


@dataclass(frozen=True)
class LlvmProbe:
    """What :func:`probe_llvm` found.

    Attributes:
        path: the usable library (None when there is none).
        version: its ``(major, minor, patch)`` (None when there is none).
        reason: one line: what was found and, when nothing usable, what to install.
        checked: every candidate looked at, with what was found (``"19.1.7"``, ``"older than 16"``,
            ``"cannot be loaded: ..."``).
    """

    path: str | None
    version: tuple[int, int, int] | None
    reason: str
    checked: tuple[tuple[str, str], ...] = ()

    @property
    def usable(self) -> bool:
        return self.path is not None


def name_version(path: str | Path) -> int | None:
    """The LLVM major version a library's file name (or its ``llvm-N`` folder) claims; None if none."""
    p = Path(path)
    m = _NAME_VERSION.search(p.name) or _DIR_VERSION.search(str(p.parent))
    return int(m.group(1)) if m else None


def library_version(path: str | Path, timeout_s: float = 30.0) -> tuple[int, int, int] | str:
    """Load ``path`` in a child process and ask its version.

    Returns:
        ``(major, minor, patch)``, or a short reason it is unusable (``"older than 16 (no
        LLVMGetVersion)"``, ``"cannot be loaded: ..."``).
    """
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHECK, str(path)],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env={k: v for k, v in os.environ.items() if k != ENV_VAR},
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot be loaded: {exc}"
    out = done.stdout.strip()
    if done.returncode != 0 or not out:
        lines = (done.stderr or "").strip().splitlines()
        return f"cannot be loaded: {lines[-1] if lines else f'exit status {done.returncode}'}"
    if out == "old":
        return f"older than {MIN_MAJOR} (no LLVMGetVersion)"
    try:
        major, minor, patch = (int(x) for x in out.split("."))
    except ValueError:
        return f"cannot be loaded: unexpected version {out!r}"
    return major, minor, patch


def candidates(search_globs: Iterable[str] = SEARCH_GLOBS, use_ldconfig: bool = True) -> list[str]:
    """Library files that may be LLVM, newest claimed version first (unversioned names last)."""
    found: dict[str, None] = {}
    for pattern in search_globs:
        for path in sorted(glob.glob(pattern)):
            if Path(path).is_file():
                found[path] = None
    if use_ldconfig:
        for path in _ldconfig_llvm():
            found[path] = None
    # one entry per real file (libLLVM-19.so and libLLVM.so.19.1 are often the same library)
    unique: dict[str, str] = {}
    for path in found:
        unique.setdefault(os.path.realpath(path), path)

    def key(path: str) -> tuple[int, str]:
        claimed = name_version(path) or name_version(os.path.realpath(path))
        return (-(claimed if claimed is not None else 0), path)

    return sorted(unique.values(), key=key)


def _ldconfig_llvm() -> list[str]:
    for ldconfig in ("ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig"):
        try:
            done = subprocess.run(
                [ldconfig, "-p"], capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        return [
            line.rsplit("=>", 1)[1].strip()
            for line in done.stdout.splitlines()
            if "libLLVM" in line and "=>" in line
        ]
    return []


def probe_llvm(
    env: Mapping[str, str] | None = None,
    search_globs: Sequence[str] = SEARCH_GLOBS,
    use_ldconfig: bool = True,
) -> LlvmProbe:
    """Find a libLLVM >= :data:`MIN_MAJOR` for Dr.Jit (see the module docstring).

    Args:
        env: environment to read ``DRJIT_LIBLLVM_PATH`` from (default ``os.environ``). When it is
            set, only that library is checked (the user's choice is never overridden).
        search_globs: where to look otherwise.
        use_ldconfig: also look at what ``ldconfig -p`` lists.
    """
    env = os.environ if env is None else env
    given = env.get(ENV_VAR)
    if given:
        paths = [given]
    else:
        paths = candidates(search_globs, use_ldconfig)
    checked: list[tuple[str, str]] = []
    for path in paths:
        claimed = name_version(path) or name_version(os.path.realpath(path))
        if not given and claimed is not None and claimed < MIN_MAJOR:
            checked.append((path, f"LLVM {claimed}: older than {MIN_MAJOR}"))
            continue
        if not Path(path).is_file():
            checked.append((path, "no such file"))
            continue
        found = library_version(path)
        if isinstance(found, str):
            checked.append((path, found))
            continue
        checked.append((path, ".".join(map(str, found))))
        if found[0] >= MIN_MAJOR:
            return LlvmProbe(path, found, f"LLVM {found[0]}.{found[1]} at {path}", tuple(checked))
        checked[-1] = (path, f"LLVM {found[0]}: older than {MIN_MAJOR}")
    if given:
        what = f"{ENV_VAR}={given}: {checked[-1][1]}"
    elif checked:
        what = "found only " + ", ".join(f"{p} ({why})" for p, why in checked)
    else:
        what = "no libLLVM found"
    return LlvmProbe(
        None,
        None,
        f"no usable LLVM for Dr.Jit's CPU backend ({what}); {INSTALL_HINT}",
        tuple(checked),
    )


@functools.cache
def configure_drjit_llvm() -> LlvmProbe:
    """Probe once per process and set ``DRJIT_LIBLLVM_PATH`` to the usable LLVM, if any.

    Call before the first ``import drjit`` / ``import mitsuba``: Dr.Jit picks its LLVM when it loads.
    """
    probe = probe_llvm()
    if probe.usable:
        os.environ[ENV_VAR] = str(probe.path)
    return probe
