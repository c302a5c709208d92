"""Moving the test database between migration states, for tests of a migration."""

from __future__ import annotations

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def leaves() -> list[tuple[str, str]]:
    """Every app's latest migration."""
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def targets_with(overrides: dict[str, str | None]) -> list[tuple[str, str | None]]:
    """The latest migrations, except the apps named (``None``: not migrated at all)."""
    others = [(app, name) for app, name in leaves() if app not in overrides]
    return others + list(overrides.items())


def migrate_to(targets: list[tuple[str, str | None]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()  # what is applied now
    return executor
