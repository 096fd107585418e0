"""Imports go one way, down the layer table of DESIGN.md; and `import modeldeck` stays light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import modeldeck

PACKAGE = Path(modeldeck.__file__).parent

LAYERS = {
    "core": 0,
    "_version": 0,
    "storage": 1,
    **dict.fromkeys(["tracking", "registry", "models", "validation", "governance", "serving"], 2),
    **dict.fromkeys(["monitoring", "pipelines"], 2),
    "wire": 2,
    **dict.fromkeys(["client", "server", "cli", "ui", "quickstart", "__init__", "__main__"], 3),
    "sklearn": 3,
}
# Services may use each other only where the lifecycle flows (DESIGN.md).
SERVICE_FLOWS: dict[str, set[str]] = {
    "tracking": set(),
    "models": {"tracking"},
    "validation": {"tracking", "models"},
    "registry": {"tracking", "models", "validation", "governance"},
    "governance": {"tracking"},
    "serving": {"models", "registry", "tracking"},
    "monitoring": {"registry", "models", "tracking"},
    "pipelines": {"tracking", "models", "registry"},
    "wire": set(),
}


def _top(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "modeldeck":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_every_package_has_a_layer() -> None:
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert modules | packages <= set(LAYERS), (modules | packages) - set(LAYERS)


def test_imports_only_go_down() -> None:
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        here = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        for module in _imports(path):
            there = _top(module)
            if there is None or there == here:
                continue
            if LAYERS[there] > LAYERS[here]:
                wrong.append(f"{rel} imports {module} (layer {there} is above {here})")
            elif LAYERS[there] == LAYERS[here] == 2 and there not in SERVICE_FLOWS[here]:
                wrong.append(f"{rel} imports {module} ({here} may not use {there})")
            elif here == "wire" and there not in {"core", "_version"}:
                wrong.append(f"{rel} imports {module} (wire may only use core)")
    assert not wrong, "\n".join(sorted(wrong))


def test_import_modeldeck_loads_no_heavy_library() -> None:
    code = (
        "import sys, modeldeck; "
        "heavy = {'sqlalchemy', 'pandas', 'numpy', 'sklearn', 'alembic', 'fastapi', 'matplotlib',"
        " 'typer', 'rich', 'scipy', 'pyarrow', 'boto3', 'dask'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
