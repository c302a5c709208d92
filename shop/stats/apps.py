from django.apps import AppConfig


class StatsConfig(AppConfig):
    """The sales dashboard, on top of commerce: it reads orders, commerce never imports it."""

    name = "shop.stats"
    label = "stats"
    verbose_name = "Sales dashboard"

    def ready(self) -> None:
        from catalog.seller_menu import seller_menu_add

        seller_menu_add(key="stats", label="Dashboard", url_name="stats:dashboard", position=50)
