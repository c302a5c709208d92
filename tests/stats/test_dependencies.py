"""Commerce never imports the dashboard: the dashboard sits on top of it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The project-level modules name the app (settings: strings; urls: the include).
# The demo command drives every app from the very top (it records product views).
ALLOWED = {"shop/settings.py", "shop/urls.py", "shop/management/commands/demo.py"}


def _imports_stats(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        if any(name == "shop.stats" or name.startswith("shop.stats.") for name in names):
            lines.append(node.lineno)
    return lines


def test_nothing_below_the_dashboard_imports_it() -> None:
    offenders = []
    for app in ("shop", "catalog", "delivery"):
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith("shop/stats/") or relative in ALLOWED:
                continue
            for line in _imports_stats(ast.parse(path.read_text(), filename=relative)):
                offenders.append(f"{relative}:{line}")
    assert offenders == []


def test_the_check_sees_an_import() -> None:
    assert _imports_stats(ast.parse("from shop.stats.models import ProductView")) == [1]
    assert _imports_stats(ast.parse("from shop import stats")) == [1]
    assert _imports_stats(ast.parse("import shop.stats.rollups")) == [1]
    assert _imports_stats(ast.parse("from shop import models")) == []
