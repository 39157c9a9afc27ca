"""Imports run one way: foundation ← stages ← runner/CLI.

Why: a stage that imports the experiment config (or the runner) drags every other stage in
with it and makes cycles easy; the experiment config composes the stages, never the reverse.
Checked on the source (every ``import`` statement, also those inside functions), so a lazy
import cannot hide an upward edge.
"""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "src" / "crossling"
STAGES = ("data", "models", "train", "evaluate", "steer", "behaviour", "analysis")
TOP = ("runner", "cli")


def _module(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in out if m == "crossling" or m.startswith("crossling.")}


def _layer(module: str) -> str:
    part = module.split(".")[1] if "." in module else ""
    if part in TOP:
        return "top"
    if part in STAGES:
        return "stage"
    return "foundation"


def test_no_module_imports_upward() -> None:
    upward = []
    for path in sorted(PKG.rglob("*.py")):
        mod = _module(path)
        rank = {"foundation": 0, "stage": 1, "top": 2}
        for imp in _imports(path):
            if imp in ("crossling", "crossling.__version__", "crossling.CrosslingError"):
                continue
            if rank[_layer(imp)] > rank[_layer(mod)]:
                upward.append(f"{mod} -> {imp}")
    assert upward == [], "upward imports:\n" + "\n".join(upward)


def test_the_check_sees_lazy_imports(tmp_path: Path) -> None:
    f = tmp_path / "x.py"
    f.write_text("def f():\n    from crossling.runner.config import ExperimentConfig\n")
    assert "crossling.runner.config" in _imports(f)
    assert _layer("crossling.runner.config") == "top" and _layer("crossling.data.cli") == "stage"
    assert _layer("crossling.config_loader") == "foundation"


def test_no_function_is_longer_than_80_lines() -> None:
    """Short functions: a stage is a few named steps, each readable on one screen."""
    long = []
    for path in sorted(PKG.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > 80:
                    long.append(f"{_module(path)}.{node.name}: {n} lines")
    assert long == []
