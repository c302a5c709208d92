# "orders" (and a source's "units") now count sales only: an order counts when it
# holds an item that cost something, so free claims are no longer orders. Roll-ups
# written before counted them; every book is marked unrolled, and the next
# ``dashboard_rollup`` rebuilds it from scratch (roll-ups are exact from the source
# tables, decision 19). Until then pages read the source tables live: exact, slower.
# No row is deleted here: the rebuild deletes a book's rows in the same transaction
# that starts it again.

from django.db import migrations


def books_unrolled(apps, schema_editor):
    StatsBook = apps.get_model("stats", "StatsBook")
    StatsBook.objects.using(schema_editor.connection.alias).update(rolled_until=None)


class Migration(migrations.Migration):
    dependencies = [
        ("stats", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(books_unrolled, migrations.RunPython.noop, elidable=True),
    ]
