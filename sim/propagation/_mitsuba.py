"""Import Mitsuba / Dr.Jit / Sionna RT with the right JIT backend, and build Mitsuba meshes in memory.

Kept apart from :mod:`sim.propagation.sionna_rt` so that the environment set-up (which must happen before
the first ``import mitsuba``) lives in one place:

- **CPU.** Dr.Jit's LLVM backend crashes with the machine's LLVM 14/15; Debian's LLVM 19 works. When
  ``DRJIT_LIBLLVM_PATH`` is unset and :data:`LLVM19_PATH` exists, it is set before Mitsuba is imported.
- **Variant.** Sionna RT needs a ``*_ad_mono_polarized`` variant: CUDA when Dr.Jit finds a GPU,
  LLVM (CPU) otherwise. A variant somebody else already set is kept if it is a polarized mono one.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

LLVM19_PATH = "/usr/lib/x86_64-linux-gnu/libLLVM.so.19.1"
_VARIANTS = ("cuda_ad_mono_polarized", "llvm_ad_mono_polarized")

_modules: tuple[ModuleType, ModuleType, ModuleType] | None = None


def import_sionna() -> tuple[ModuleType, ModuleType, ModuleType]:
    """``(mitsuba, drjit, sionna.rt)`` with a polarized mono variant set (CUDA if present, else LLVM).

    Raises:
        ImportError: Mitsuba/Sionna RT is not installed (the ``[sim]`` extra), or no JIT backend works;
            the message says what to install or set.
    """
    global _modules
    if _modules is not None:
        return _modules
    if "DRJIT_LIBLLVM_PATH" not in os.environ and Path(LLVM19_PATH).is_file():
        os.environ["DRJIT_LIBLLVM_PATH"] = LLVM19_PATH
    try:
        import drjit as dr
        import mitsuba as mi
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            f"the Sionna RT backend needs mitsuba + drjit (pip install 'mmfm[sim]'): {exc}"
        ) from exc
    current = mi.variant()
    if current is None or current not in _VARIANTS:
        if dr.has_backend(dr.JitBackend.CUDA):
            mi.set_variant("cuda_ad_mono_polarized")
        elif dr.has_backend(dr.JitBackend.LLVM):
            mi.set_variant("llvm_ad_mono_polarized")
        else:
            raise ImportError(
                "Dr.Jit found neither CUDA nor a usable LLVM; on a CPU install Debian's libllvm19 and "
                f"set DRJIT_LIBLLVM_PATH={LLVM19_PATH} (LLVM 14/15 crash inside Dr.Jit)"
            )
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
