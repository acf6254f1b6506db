"""Import Mitsuba / Dr.Jit / Sionna RT with the right JIT backend, and build Mitsuba meshes in memory.

Kept apart from :mod:`sim.propagation.sionna_rt` so that the environment set-up (which must happen before
the first ``import mitsuba``) lives in one place:

- **CPU.** Dr.Jit's LLVM backend aborts the process with LLVM 14/15 (Debian 12's); LLVM >= 16 works.
  :func:`sim.propagation.llvm.configure_drjit_llvm` finds one and sets ``DRJIT_LIBLLVM_PATH`` before
  Mitsuba is imported; without one the LLVM variant is refused with an ImportError saying what to
  install (CUDA still works).
- **Variant.** Sionna RT needs a ``*_ad_mono_polarized`` variant: CUDA when Dr.Jit finds a GPU,
  LLVM (CPU) otherwise. A variant somebody else already set is kept if it is a polarized mono one.
"""

from __future__ import annotations

import ctypes.util
import importlib.util
from types import ModuleType
from typing import Any

import numpy as np

from sim.propagation.llvm import configure_drjit_llvm

_VARIANTS = ("cuda_ad_mono_polarized", "llvm_ad_mono_polarized")

_modules: tuple[ModuleType, ModuleType, ModuleType] | None = None


def unavailable_reason() -> str | None:
    """Why Sionna RT certainly cannot run in this environment, found without importing Dr.Jit (so a
    command can refuse before it starts work or forks workers); None when it may run.

    Not installed, or no LLVM >= 16 for Dr.Jit's CPU backend and no CUDA driver (``libcuda``) for its
    GPU one. With a CUDA driver but no usable GPU, :func:`import_sionna` still raises later.
    """
    missing = [m for m in ("mitsuba", "drjit", "sionna") if importlib.util.find_spec(m) is None]
    if missing:
        return f"the Sionna RT backend needs {', '.join(missing)} (pip install 'mmfm[sim]')"
    llvm = configure_drjit_llvm()
    if not llvm.usable and ctypes.util.find_library("cuda") is None:
        return llvm.reason
    return None


def import_sionna() -> tuple[ModuleType, ModuleType, ModuleType]:
    """``(mitsuba, drjit, sionna.rt)`` with a polarized mono variant set (CUDA if present, else LLVM).

    Raises:
        ImportError: Mitsuba/Sionna RT is not installed (the ``[sim]`` extra), or no JIT backend works;
            the message says what to install or set.
    """
    global _modules
    if _modules is not None:
        return _modules
    llvm = configure_drjit_llvm()  # before drjit loads an LLVM of its own choice
    try:
        import drjit as dr
        import mitsuba as mi
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            f"the Sionna RT backend needs mitsuba + drjit (pip install 'mmfm[sim]'): {exc}"
        ) from exc
    current = mi.variant()
    if current == "llvm_ad_mono_polarized" and not llvm.usable:
        raise ImportError(f"Mitsuba's LLVM variant is set but {llvm.reason}")
    if current is None or current not in _VARIANTS:
        if dr.has_backend(dr.JitBackend.CUDA):
            mi.set_variant("cuda_ad_mono_polarized")
        elif llvm.usable and dr.has_backend(dr.JitBackend.LLVM):
            mi.set_variant("llvm_ad_mono_polarized")
        else:
            # an LLVM < 16 would load, then abort the process inside the first path solve
            raise ImportError(f"Dr.Jit found no CUDA device and {llvm.reason}")
    try:
        import sionna.rt as rt
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            f"the Sionna RT backend needs sionna-rt (pip install 'mmfm[sim]'): {exc}"
        ) from exc
    _modules = (mi, dr, rt)
    return _modules


def make_mi_mesh(mi: ModuleType, name: str, vertices: np.ndarray, faces: np.ndarray) -> Any:
    """A Mitsuba triangle mesh built in memory (no file).

    Args:
        mi: the ``mitsuba`` module (from :func:`import_sionna`).
        name: shape id.
        vertices: ``[V, 3]`` positions [m] (stored as float32).
        faces: ``[F, 3]`` vertex indices; the face order is kept, so Mitsuba's primitive index of a
            hit is the row of ``faces``.

    Returns:
        ``mitsuba.Mesh`` with face normals (flat triangles, as the scatterer backend sees them).
    """
    props = mi.Properties()
    props["face_normals"] = True
    mesh = mi.Mesh(
        name,
        vertex_count=int(vertices.shape[0]),
        face_count=int(faces.shape[0]),
        props=props,
        has_vertex_normals=False,
        has_vertex_texcoords=False,
    )
    params = mi.traverse(mesh)
    params["vertex_positions"] = mi.Float(np.ascontiguousarray(vertices, dtype=np.float32).ravel())
    params["faces"] = mi.UInt32(np.ascontiguousarray(faces, dtype=np.uint32).ravel())
    params.update()
    return mesh
