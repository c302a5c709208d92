"""The search documents, and each database's own index over them.

PostgreSQL: a generated, weighted tsvector (GIN) and a trigram index (pg_trgm).
SQLite: an external-content FTS5 table kept in step with the documents by triggers.
Other databases get the table alone (search then finds nothing).
"""

import django.db.models.deletion
from django.db import migrations, models

COLUMNS = ("title", "tags", "seller", "tracks", "body", "kind")

POSTGRES = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """ALTER TABLE discovery_searchdocument ADD COLUMN vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', title), 'A')
        || setweight(to_tsvector('simple', tags), 'A')
        || setweight(to_tsvector('simple', seller), 'B')
        || setweight(to_tsvector('simple', tracks), 'B')
        || setweight(to_tsvector('simple', body), 'C')
        || setweight(to_tsvector('simple', kind), 'D')
    ) STORED""",
    "CREATE INDEX discovery_searchdocument_vector ON discovery_searchdocument USING gin (vector)",
    "CREATE INDEX discovery_searchdocument_names_trgm ON discovery_searchdocument "
    "USING gin (names gin_trgm_ops)",
]
POSTGRES_REVERSE = [
    "DROP INDEX IF EXISTS discovery_searchdocument_names_trgm",
    "DROP INDEX IF EXISTS discovery_searchdocument_vector",
    "ALTER TABLE discovery_searchdocument DROP COLUMN IF EXISTS vector",
]

_cols = ", ".join(COLUMNS)
_new = ", ".join(f"new.{c}" for c in COLUMNS)
_old = ", ".join(f"old.{c}" for c in COLUMNS)
SQLITE = [
    f"""CREATE VIRTUAL TABLE discovery_fts USING fts5({_cols},
        content='discovery_searchdocument', content_rowid='product_id',
        tokenize='unicode61 remove_diacritics 2')""",
    f"""CREATE TRIGGER discovery_fts_insert AFTER INSERT ON discovery_searchdocument BEGIN
        INSERT INTO discovery_fts(rowid, {_cols}) VALUES (new.product_id, {_new});
    END""",
    f"""CREATE TRIGGER discovery_fts_delete AFTER DELETE ON discovery_searchdocument BEGIN
        INSERT INTO discovery_fts(discovery_fts, rowid, {_cols})
        VALUES ('delete', old.product_id, {_old});
    END""",
    f"""CREATE TRIGGER discovery_fts_update AFTER UPDATE ON discovery_searchdocument BEGIN
        INSERT INTO discovery_fts(discovery_fts, rowid, {_cols})
        VALUES ('delete', old.product_id, {_old});
        INSERT INTO discovery_fts(rowid, {_cols}) VALUES (new.product_id, {_new});
    END""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS discovery_fts_update",
    "DROP TRIGGER IF EXISTS discovery_fts_delete",
    "DROP TRIGGER IF EXISTS discovery_fts_insert",
    "DROP TABLE IF EXISTS discovery_fts",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    initial = True

    dependencies = [("catalog", "0009_seller_language")]

    operations = [
        migrations.CreateModel(
            name="SearchDocument",
            fields=[
                (
                    "product",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="search_document",
                        serialize=False,
                        to="catalog.product",
                    ),
                ),
                ("title", models.TextField()),
                ("tags", models.TextField(blank=True)),
                ("seller", models.TextField(blank=True)),
                ("tracks", models.TextField(blank=True)),
                ("body", models.TextField(blank=True)),
                ("kind", models.TextField(blank=True)),
                ("names", models.TextField(blank=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
        ),
        migrations.RunPython(
            _run({"postgresql": POSTGRES, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRES_REVERSE, "sqlite": SQLITE_REVERSE}),
        ),
    ]
