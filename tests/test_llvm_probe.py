"""The LLVM probe (``sim.propagation.llvm``): on a machine with only LLVM < 16 (Debian 12 without
libllvm19) Dr.Jit's CPU backend aborts the process inside Sionna RT's first path solve. The probe must
report such a library unusable (by loading it in a child process, not by trusting its name), the Sionna
tests must skip with the reason instead of taking the test run down, and ``mmfm sim generate --backend
sionna`` must answer with one line saying what to install.

The "old LLVM" is a real one where the machine has it (Debian 12 ships libLLVM-15), linked under a
name that claims version 18, and an empty file named like LLVM 19 otherwise.
"""

from __future__ import annotations

import ctypes.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from sim.propagation.llvm import (
    ENV_VAR,
    MIN_MAJOR,
    candidates,
    library_version,
    name_version,
    probe_llvm,
)


def _old_real_llvm() -> str | None:
    for path in candidates():
        claimed = name_version(path) or name_version(os.path.realpath(path))
        if claimed is not None and claimed < MIN_MAJOR:
            return path
    return None


@pytest.fixture
def old_llvm(tmp_path: Path) -> Path:
    """A library that claims LLVM 18 by its name but is older than 16 (or not a library at all)."""
    lib = tmp_path / "lib" / "libLLVM.so.18.1"
    lib.parent.mkdir()
    real = _old_real_llvm()
    if real is not None:
        lib.symlink_to(real)
    else:
        lib.write_bytes(b"")
    (lib.parent / "libLLVM-15.so.1").write_bytes(b"")  # skipped by its name alone
    return lib


def test_name_version() -> None:
    assert name_version("/usr/lib/x86_64-linux-gnu/libLLVM.so.19.1") == 19
    assert name_version("/usr/lib/x86_64-linux-gnu/libLLVM-15.so.1") == 15
    assert name_version("/usr/lib/x86_64-linux-gnu/libLLVM-14.0.6.so.1") == 14
    assert name_version("/usr/lib/llvm-17/lib/libLLVM.so") == 17
    assert name_version("/opt/libLLVM.so") is None


def test_only_an_old_llvm_is_unusable(old_llvm: Path) -> None:
    found = library_version(old_llvm)
    assert isinstance(found, str)  # a reason, not a version
    assert ("older than 16" in found) if old_llvm.is_symlink() else ("cannot be loaded" in found)
    probe = probe_llvm(
        env={}, search_globs=[str(old_llvm.parent / "libLLVM*.so*")], use_ldconfig=False
    )
    assert not probe.usable and probe.path is None
    assert "apt-get install libllvm19" in probe.reason and ENV_VAR in probe.reason
    assert {Path(p).name for p, _ in probe.checked} == {"libLLVM.so.18.1", "libLLVM-15.so.1"}
    # DRJIT_LIBLLVM_PATH set by the user: only that library is checked, and it is named
    probe = probe_llvm(env={ENV_VAR: str(old_llvm)})
    assert not probe.usable and f"{ENV_VAR}={old_llvm}" in probe.reason
    assert "no usable LLVM" in probe_llvm(env={ENV_VAR: "/nonexistent/libLLVM.so.19"}).reason


def test_a_usable_llvm_reports_its_version() -> None:
    probe = probe_llvm(env={})
    if not probe.usable:
        pytest.skip(f"no LLVM >= {MIN_MAJOR} on this machine: {probe.reason}")
    assert probe.version is not None and probe.version[0] >= MIN_MAJOR
    assert library_version(probe.path) == probe.version


def _env_with(old_llvm: Path) -> dict[str, str]:
    if ctypes.util.find_library("cuda") is not None:
        pytest.skip("a CUDA driver is present: Sionna RT would run on the GPU whatever the LLVM")
    return {**os.environ, ENV_VAR: str(old_llvm)}


def test_sionna_tests_skip_with_the_reason_instead_of_aborting(old_llvm: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
         "tests/test_sionna_rt.py", "tests/test_sionna_generate.py"],
        cwd=REPO, env=_env_with(old_llvm), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    out = done.stdout + done.stderr
    assert "Fatal Python error" not in out
    # 5 = "no tests collected": both modules skip as a whole (pytest's code for that)
    assert done.returncode in (0, 5), out[-3000:]
    assert "2 skipped" in out and "Sionna RT backend unavailable" in out
    assert "apt-get install libllvm19" in out


def test_sim_generate_sionna_says_what_to_install(old_llvm: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "ds"
    done = subprocess.run(
        [sys.executable, "-m", "mmfm", "sim", "generate", "--out", str(out_dir), "--num", "1",
         "--backend", "sionna", "--radar", "iwr1843boost_demo", "--no-progress"],
        cwd=REPO, env=_env_with(old_llvm), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("mmfm sim generate: error: backend sionna: no usable LLVM")
    assert "apt-get install libllvm19" in lines[0]
    assert not out_dir.exists()  # refused before any work
