"""The demo sits on top of every app: it may import them all, and nothing imports it."""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "shop" / "demo"


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_app_imports_the_demo():
    sources = [
        path
        for app in ("catalog", "delivery", "shop")
        for path in (ROOT / app).rglob("*.py")
        if DEMO not in path.parents
    ]
    assert sources
    upward = {
        str(path.relative_to(ROOT))
        for path in sources
        if any(name == "shop.demo" or name.startswith("shop.demo.") for name in _imported(path))
    }
    assert upward == set()


def test_the_demo_is_the_last_app():
    assert settings.INSTALLED_APPS[-1] == "shop.demo"
