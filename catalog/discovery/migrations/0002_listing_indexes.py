"""Indexes on the catalog's products for the listings' keyset pages.

They serve this app's queries only (``selectors.listing``), so they live with
it rather than on ``catalog.Product``: a seller's page sorted by newest, and
any listing sorted by price, each reaching a deep cursor by an index range.
The SQL is the same on SQLite and PostgreSQL.
"""

from django.db import migrations

INDEXES = {
    "discovery_product_seller_new": "(seller_id, status, created_at DESC, id DESC)",
    "discovery_product_price": "(status, price, id)",
    "discovery_product_new": "(status, created_at DESC, id DESC)",
}


class Migration(migrations.Migration):
    dependencies = [("discovery", "0001_initial")]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX {name} ON catalog_product {columns}",
            f"DROP INDEX IF EXISTS {name}",
        )
        for name, columns in INDEXES.items()
    ]
