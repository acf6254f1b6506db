"""Dependencies point one way (DESIGN.md): checked on the source, and on what an import really loads."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

from conftest import REPO

# What each floor may import from the project (besides itself).
ALLOWED = {
    "firmware_cfg": set(),
    "exporters": set(),
    "runtime": {"firmware_cfg"},
    "sim": {"firmware_cfg", "runtime"},
    "training": {"firmware_cfg", "runtime", "sim", "exporters"},
    "mmfm": {"firmware_cfg", "runtime", "sim", "training", "exporters"},
}
PROJECT = set(ALLOWED)
# Third-party packages a floor must never import (the edge install has no torch).
FORBIDDEN_THIRD_PARTY = {
    "firmware_cfg": {"torch", "sionna", "transformers", "peft"},
    # onnx (the graph library) is the exporters' extra; the runtime reads models with onnxruntime only.
    "runtime": {"torch", "onnx", "sionna", "transformers", "peft", "smplx", "trimesh"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_floors_import_only_what_stands_below() -> None:
    violations = []
    for floor, allowed in ALLOWED.items():
        for path in sorted((REPO / floor).rglob("*.py")):
            for name in _imports(path):
                if name in PROJECT and name != floor and name not in allowed:
                    violations.append(f"{path.relative_to(REPO)} imports {name}")
                if name in FORBIDDEN_THIRD_PARTY.get(floor, set()):
                    violations.append(f"{path.relative_to(REPO)} imports {name}")
    assert not violations, "\n".join(violations)


def test_nothing_below_the_cli_imports_training() -> None:
    offenders = [
        str(path.relative_to(REPO))
        for floor in ("firmware_cfg", "exporters", "runtime", "sim")
        for path in (REPO / floor).rglob("*.py")
        if "training" in _imports(path)
    ]
    assert not offenders


def test_edge_modules_load_no_heavy_packages() -> None:
    """Import every runtime/firmware_cfg module and the CLI parser in a fresh interpreter."""
    modules = ["mmfm.cli"]
    for floor in ("firmware_cfg", "runtime"):
        for path in sorted((REPO / floor).rglob("*.py")):
            rel = path.relative_to(REPO).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            if "__main__" not in parts:
                modules.append(".".join(parts))
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "import mmfm.cli; mmfm.cli.build_parser()\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'torch', 'onnx', 'sim', 'training', 'exporters', 'sionna', 'transformers', 'matplotlib'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "", f"edge import pulled in: {out.stdout.strip()}"


def test_base_install_does_not_pull_torch() -> None:
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    base = " ".join(meta["dependencies"]).lower()
    for heavy in ("torch", "sionna", "transformers", "peft", "matplotlib"):
        assert heavy not in base, f"{heavy} in the base (edge) install"
