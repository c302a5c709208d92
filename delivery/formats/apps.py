from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FormatsConfig(AppConfig):
    name = "delivery.formats"
    label = "delivery_formats"
    verbose_name = _("Delivery formats")

    def ready(self) -> None:
        from catalog.seller_menu import seller_menu_add

        seller_menu_add(
            key="delivery", label=_("Delivery"), url_name="delivery:sell_delivery", position=35
        )
