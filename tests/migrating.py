"""Moving the test database between migration states, for tests of a migration."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.contrib.contenttypes.models import ContentType
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


@contextmanager
def migrated_back(overrides: dict[str, str | None]) -> Iterator[list[tuple[str, str]]]:
    """The database at older migrations (their targets yielded, for
    ``loader.project_state``); every app's latest migrations again afterwards."""
    latest = leaves()
    old = targets_with(overrides)
    try:
        migrate_to(old)
        yield [(app, name) for app, name in old if name is not None]
    finally:
        migrate_to(latest)
        ContentType.objects.clear_cache()
