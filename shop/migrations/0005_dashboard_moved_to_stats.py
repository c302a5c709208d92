# The dashboard's models now belong to the ``stats`` app (shop/stats/). This
# takes them out of shop's state only: their tables stay, with their names and
# rows, and stats' 0001_initial (a dependency) has them in its state already.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('shop', '0004_dashboard'),
        ('stats', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                # The models that point at StatsBook go first.
                migrations.DeleteModel(name='DailySource'),
                migrations.DeleteModel(name='DailyStats'),
                migrations.DeleteModel(name='ProductView'),
                migrations.DeleteModel(name='StatsBook'),
            ],
        ),
    ]
