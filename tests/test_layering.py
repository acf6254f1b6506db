"""Dependencies point one way (DESIGN.md): checked on the source, and on what an import really loads."""

from __future__ import annotations

import ast
import importlib.util
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


def _module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _project_imports(path: Path, name: str, modules: set[str]) -> set[str]:
    """Project modules that ``path`` imports anywhere: at module level, under ``if TYPE_CHECKING``
    and inside functions (an import inside a function that closes a cycle only hides it).
    ``from pkg import sub`` is an import of ``pkg.sub`` when that is a module, else of ``pkg``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = ".".join([*base, *([node.module] if node.module else [])])
            else:
                mod = node.module or ""
            subs = {f"{mod}.{alias.name}" for alias in node.names} & modules
            found.update(subs)
            if len(subs) < len(node.names):
                found.add(mod)
    return {m for m in found if m in modules and m != name}


def import_cycles(root: Path = REPO) -> list[list[str]]:
    """Every import cycle among the project's modules (strongly connected groups), as files."""
    files = {
        _module_name(path, root): path
        for floor in PROJECT
        for path in sorted((root / floor).rglob("*.py"))
    }
    graph = {m: _project_imports(p, m, set(files)) for m, p in files.items()}
    # Tarjan's strongly connected components (iterative)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    comp.append(m)
                    if m == node:
                        break
                if len(comp) > 1:
                    cycles.append(sorted(str(files[m].relative_to(root)) for m in comp))
    return sorted(cycles)


def test_no_import_cycles() -> None:
    """Two modules that import each other share a concept that belongs in a third (STYLE.md 11)."""
    cycles = import_cycles()
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_cycle_check_finds_a_cycle(tmp_path: Path) -> None:
    """The checker itself: a cycle closed through ``if TYPE_CHECKING`` and one closed inside a
    function are found; a package importing its own modules is not a cycle."""
    pkg = tmp_path / "runtime"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from runtime.b import B\n")
    (pkg / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from runtime import a\n"
    )
    (pkg / "c.py").write_text("def f():\n    from runtime import d\n")
    (pkg / "d.py").write_text("from . import c\n")
    (pkg / "e.py").write_text("from runtime import a\n")
    (pkg / "__init__.py").write_text("from runtime.e import a\n")
    assert import_cycles(tmp_path) == [
        ["runtime/a.py", "runtime/b.py"],
        ["runtime/c.py", "runtime/d.py"],
    ]


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
    # modules of an optional extra load only where the extra is installed (mmfm[web])
    optional = {"runtime.web.server": ("starlette", "uvicorn")}
    modules = [
        m for m in modules if all(importlib.util.find_spec(dep) for dep in optional.get(m, ()))
    ]
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
