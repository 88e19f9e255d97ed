"""The layers and the app layer's rooms import one way only, and nothing imports in a cycle.

- ``engine/`` and ``tracks/`` never import Qt or the app layer; ``widgets/`` never imports
  ``engine/`` or the app layer.
- Inside ``resonant_studio/`` only the ``qt`` room imports Qt; each room imports only the rooms
  its docstring names (``ROOMS`` below), and no module of the app layer is part of an import
  cycle, counting imports inside functions and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QT = {"PySide6", "pyqtgraph", "shiboken6"}
FORBIDDEN = {
    "engine": QT | {"widgets", "resonant_studio", "tracks"},
    "tracks": QT | {"widgets", "resonant_studio", "engine"},
    "widgets": {"engine", "resonant_studio"},
}
# room -> the other rooms of resonant_studio it may import
ROOMS = {
    "core": set(),
    "presets": {"core"},
    "library": {"core"},
    "generation": {"core", "presets"},
    "cli": {"core", "presets", "library", "generation"},
    "qt": {"core", "presets", "library", "generation"},
}
APP = ROOT / "resonant_studio"


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported_modules(path: Path) -> set[str]:
    """Every module this file names in an import, resolved to its full dotted name."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _top_levels(path: Path) -> set[str]:
    return {name.split(".")[0] for name in _imported_modules(path)}


SHARED = {"engine.safe_load"}
"""Leaf modules every layer may import: the standard library and PyYAML only (checked below)."""


def _forbidden_imports(path: Path, package: str) -> set[str]:
    names = {n for n in _imported_modules(path)
             if not any(n == s or n.startswith(s + ".") or s.startswith(n + ".") for s in SHARED)}
    return {n.split(".")[0] for n in names} & FORBIDDEN[package]


def test_shared_leaves_import_nothing_of_the_project() -> None:
    project = {"engine", "tracks", "widgets", "resonant_studio"} | QT
    for name in SHARED:
        path = ROOT / (name.replace(".", "/") + ".py")
        assert not _top_levels(path) & project, f"{name} must stay a leaf: {_top_levels(path) & project}"


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_forbidden_layers(package: str) -> None:
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = _forbidden_imports(path, package)
        if bad:
            offenders.append(f"{path.relative_to(ROOT)}: {', '.join(sorted(bad))}")
    assert not offenders, "layering broken:\n" + "\n".join(offenders)


def test_every_app_module_lives_in_a_room() -> None:
    loose = [p.name for p in APP.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert not loose, f"modules outside a room of resonant_studio/: {loose}"
    rooms = {p.name for p in APP.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert rooms == set(ROOMS), f"rooms on disk {sorted(rooms)} != rooms with rules {sorted(ROOMS)}"


@pytest.mark.parametrize("room", sorted(ROOMS))
def test_room_imports_only_what_its_rules_allow(room: str) -> None:
    offenders = []
    for path in sorted((APP / room).rglob("*.py")):
        imported = _imported_modules(path)
        tops = {name.split(".")[0] for name in imported}
        if room != "qt" and tops & (QT | {"widgets"}):
            offenders.append(f"{path.relative_to(ROOT)}: imports Qt or widgets")
        for name in imported:
            parts = name.split(".")
            if parts[0] != "resonant_studio" or len(parts) < 2 or parts[1] in ("__version__",):
                continue
            other = parts[1]
            if other != room and other in ROOMS and other not in ROOMS[room]:
                offenders.append(f"{path.relative_to(ROOT)}: imports {name}")
    assert not offenders, "room rules broken:\n" + "\n".join(offenders)


def test_room_docstrings_say_what_they_may_import() -> None:
    for room in ROOMS:
        doc = ast.get_docstring(ast.parse((APP / room / "__init__.py").read_text(encoding="utf-8")))
        assert doc and "May import" in doc, f"resonant_studio/{room}/__init__.py must say what the room may import"


def test_no_import_cycles_in_the_app_layer() -> None:
    modules = {_module_name(p): p for p in APP.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps = set()
        for imported in _imported_modules(path):
            # `from pkg import mod` names pkg.mod: keep the longest prefix that is a module here
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name and not name.startswith(imported + "."):
                deps.add(imported)
        graph[name] = deps
    # Package __init__ files are imported on the way to their submodules; a package that only
    # documents itself adds no edge. Tarjan's strongly connected components:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, "import cycles in resonant_studio/:\n" + "\n".join(" <-> ".join(c) for c in cycles)


@pytest.mark.parametrize("packages", [("engine", "tracks"), tuple(f"resonant_studio.{r}" for r in ROOMS if r != "qt")],
                         ids=["engine+tracks", "plain app rooms"])
def test_importing_loads_no_qt(packages: tuple[str, ...]) -> None:
    """The static checks above miss dynamic imports; this one runs every module's import."""
    code = (
        "import sys, pkgutil, importlib\n"
        f"for name in {list(packages)!r}:\n"
        "    pkg = importlib.import_module(name)\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        if not m.name.endswith('.__main__'):  # running it is not importing it\n"
        "            importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6')]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"Qt modules loaded by {packages}: {out.stdout}"


def test_opening_the_window_module_loads_no_scipy_or_librosa() -> None:
    """Start fast: scipy (pyloudnorm, the limiter) and librosa load when first needed, off the UI thread."""
    code = ("import sys\nimport resonant_studio.qt.main_window\n"
            "print(','.join(m for m in ('scipy', 'librosa', 'pyloudnorm', 'pedalboard', 'mlx') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"imported while the window opens: {out.stdout.strip()}"
