from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    """The seller API, on top of commerce and the dashboard; nothing imports it."""

    name = "shop.api"
    label = "api"
    verbose_name = _("Seller API")

    def ready(self) -> None:
        from catalog.seller_menu import seller_menu_add

        seller_menu_add(key="api", label=_("API tokens"), url_name="api:tokens", position=80)
