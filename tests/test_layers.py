"""The apps are layered: each imports only the layers below it, and no module
imports itself back through others.

Read from the source (every ``import`` statement, also inside functions), not
from a list kept by hand: a new module is checked the day it is written.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("catalog", "delivery", "shop")

# Bottom first. A module belongs to the longest prefix that names it.
LAYERS = (
    "catalog",
    "delivery",
    "shop",
    "shop.funding",
    "shop.stats",
    "shop.webhooks_out",
    "shop.api",
    "shop.demo",
)
# The Django project (settings, root URLconf, servers) sits above every app:
# it names them all, and nothing imports it.
PROJECT = {"shop.settings", "shop.urls", "shop.wsgi", "shop.asgi"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                found[_module_name(path)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path, source: str | None = None) -> Iterator[tuple[str, int]]:
    """(imported project module, line) for every import in the file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    text = path.read_text() if source is None else source
    for node in ast.walk(ast.parse(text, filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import sub` imports the submodule when there is one.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target, node.lineno


def _layer(module: str) -> int:
    best = -1
    for index, prefix in enumerate(LAYERS):
        named = module == prefix or module.startswith(prefix + ".")
        if named and (best < 0 or len(prefix) > len(LAYERS[best])):
            best = index
    assert best >= 0, module
    return best


def test_every_app_imports_only_the_layers_below_it():
    upward = []
    for name, path in MODULES.items():
        if name in PROJECT:
            continue
        for target, line in _imports(name, path):
            if target in PROJECT:
                upward.append(f"{path.relative_to(ROOT)}:{line} imports the project ({target})")
            elif _layer(target) > _layer(name):
                upward.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert upward == []


def test_nothing_imports_the_demo_or_the_project_modules():
    importers = [
        f"{path.relative_to(ROOT)} imports {target}"
        for name, path in MODULES.items()
        if name not in PROJECT and not name.startswith("shop.demo")
        for target, _ in _imports(name, path)
        if target.startswith("shop.demo") or target in PROJECT
    ]
    assert importers == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the path, 2: done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    return cycles


def test_no_module_imports_itself_back_through_others():
    graph = {name: {t for t, _ in _imports(name, path)} for name, path in MODULES.items()}
    assert _cycles(graph) == []


def test_the_reader_finds_upward_and_relative_imports():
    """The reader itself: a made-up catalog module importing commerce is caught."""
    probe = ROOT / "catalog" / "_probe.py"
    source = "def f():\n    from shop.models import Order\nfrom . import models\n"
    found = list(_imports("catalog._probe", probe, source))
    assert ("shop.models", 2) in found
    assert ("catalog.models", 3) in found
    assert _layer("shop.models") > _layer("catalog._probe")
    assert _layer("shop.stats.views") > _layer("shop.views") > _layer("delivery.views")


def test_no_module_imports_a_private_name_of_another():
    """What another module needs is public and named for what it does."""
    offenders = [
        f"{path.relative_to(ROOT)}:{node.lineno} imports {alias.name}"
        for path in MODULES.values()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.name.startswith("_") and alias.name != "__future__"
    ]
    assert offenders == []


def test_the_cycle_check_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
