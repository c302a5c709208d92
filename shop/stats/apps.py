from django.apps import AppConfig


class StatsConfig(AppConfig):
    """The sales dashboard, on top of commerce: it reads orders, commerce never imports it."""

    name = "shop.stats"
    label = "stats"
    verbose_name = "Sales dashboard"
