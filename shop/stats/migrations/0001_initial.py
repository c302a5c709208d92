# The dashboard's models move from the ``shop`` app to ``stats``: in Django's
# state only. Their tables were created by shop's 0004_dashboard and keep their
# names (``db_table``), so nothing is created, copied or renamed here. shop's
# 0005_dashboard_moved_to_stats, which depends on this one, takes them out of
# shop's state.

import django.db.models.deletion
from django.db import migrations, models

MODELS = ["productview", "statsbook", "dailystats", "dailysource"]


def _content_types_move(apps, schema_editor, source, target):
    """Move the models' content types (and so their permissions) from one app label to the other.

    On a fresh database there are none yet (they are made after migrating); on
    one migrated before the move, permissions granted on the dashboard's models
    follow them instead of being left on stale content types.
    """
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MODELS:
        if ContentType.objects.using(db).filter(app_label=target, model=model).exists():
            continue
        ContentType.objects.using(db).filter(app_label=source, model=model).update(
            app_label=target
        )


def content_types_to_stats(apps, schema_editor):
    _content_types_move(apps, schema_editor, "shop", "stats")


def content_types_to_shop(apps, schema_editor):
    _content_types_move(apps, schema_editor, "stats", "shop")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('catalog', '0002_sellers_tags_previews_uploads'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('shop', '0004_dashboard'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='StatsBook',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('scope', models.CharField(help_text='"shop" or "seller:<id>".', max_length=40, unique=True)),
                        ('timezone', models.CharField(max_length=64)),
                        ('rolled_until', models.DateField(blank=True, null=True)),
                        ('built_at', models.DateTimeField(blank=True, null=True)),
                        ('seller', models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.seller')),
                    ],
                    options={
                        'db_table': 'shop_statsbook',
                    },
                ),
                migrations.CreateModel(
                    name='ProductView',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('at', models.DateTimeField()),
                        ('referrer_host', models.CharField(blank=True, max_length=255)),
                        ('utm_source', models.CharField(blank=True, max_length=100)),
                        ('utm_campaign', models.CharField(blank=True, max_length=100)),
                        ('product', models.ForeignKey(db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='catalog.product')),
                        ('seller', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.seller')),
                    ],
                    options={
                        'db_table': 'shop_productview',
                        'indexes': [models.Index(fields=['seller', 'at'], name='productview_seller_at'), models.Index(fields=['product', 'at'], name='productview_product_at'), models.Index(fields=['at'], name='productview_at')],
                    },
                ),
                migrations.CreateModel(
                    name='DailyStats',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('day', models.DateField()),
                        ('orders', models.BigIntegerField(default=0)),
                        ('units', models.BigIntegerField(default=0)),
                        ('paid_units', models.BigIntegerField(default=0)),
                        ('gross', models.BigIntegerField(default=0)),
                        ('fees', models.BigIntegerField(default=0)),
                        ('discounts', models.BigIntegerField(default=0)),
                        ('pwyw_units', models.BigIntegerField(default=0)),
                        ('pwyw_paid', models.BigIntegerField(default=0)),
                        ('pwyw_minimum', models.BigIntegerField(default=0)),
                        ('refunds', models.BigIntegerField(default=0)),
                        ('refunded', models.BigIntegerField(default=0)),
                        ('refund_debit', models.BigIntegerField(default=0)),
                        ('disputes', models.BigIntegerField(default=0)),
                        ('dispute_debit', models.BigIntegerField(default=0)),
                        ('downloads', models.BigIntegerField(default=0)),
                        ('views', models.BigIntegerField(default=0)),
                        ('transferred', models.BigIntegerField(default=0)),
                        ('product', models.ForeignKey(db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.product')),
                        ('seller', models.ForeignKey(db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.seller')),
                        ('book', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='days', to='stats.statsbook')),
                    ],
                    options={
                        'verbose_name_plural': 'daily stats',
                        'db_table': 'shop_dailystats',
                        'indexes': [models.Index(fields=['book', 'seller', 'product', 'day'], name='dailystats_lookup')],
                        'constraints': [models.UniqueConstraint(condition=models.Q(('product__isnull', True), ('seller__isnull', True)), fields=('book', 'day'), name='dailystats_shop_once'), models.UniqueConstraint(condition=models.Q(('product__isnull', True), ('seller__isnull', False)), fields=('book', 'day', 'seller'), name='dailystats_seller_once'), models.UniqueConstraint(condition=models.Q(('product__isnull', False)), fields=('book', 'day', 'product'), name='dailystats_product_once')],
                    },
                ),
                migrations.CreateModel(
                    name='DailySource',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('day', models.DateField()),
                        ('kind', models.CharField(choices=[('referrer', 'Referring site'), ('source', 'utm_source'), ('campaign', 'utm_campaign'), ('country', 'Buyer country')], max_length=10)),
                        ('value', models.CharField(blank=True, max_length=255)),
                        ('views', models.BigIntegerField(default=0)),
                        ('orders', models.BigIntegerField(default=0)),
                        ('units', models.BigIntegerField(default=0)),
                        ('gross', models.BigIntegerField(default=0)),
                        ('product', models.ForeignKey(db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.product')),
                        ('book', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='sources', to='stats.statsbook')),
                    ],
                    options={
                        'db_table': 'shop_dailysource',
                        'indexes': [models.Index(fields=['book', 'product', 'day'], name='dailysource_lookup')],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_types_to_stats, content_types_to_shop),
    ]
