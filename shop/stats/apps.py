from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StatsConfig(AppConfig):
    """The sales dashboard, on top of commerce: it reads orders, commerce never imports it."""

    name = "shop.stats"
    label = "stats"
    verbose_name = "Sales dashboard"

    def ready(self) -> None:
        from catalog.seller_menu import seller_menu_add

        seller_menu_add(key="stats", label=_("Dashboard"), url_name="stats:dashboard", position=50)
