from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LicensesConfig(AppConfig):
    name = "delivery.licenses"
    label = "delivery_licenses"
    verbose_name = _("License keys")

    def ready(self) -> None:
        from catalog.seller_menu import seller_menu_add

        seller_menu_add(
            key="licenses",
            label=_("License keys"),
            url_name="licenses:sell_licenses",
            position=45,
        )
