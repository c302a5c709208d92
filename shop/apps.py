from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShopConfig(AppConfig):
    name = "shop"
    verbose_name = "Shop"

    def ready(self) -> None:
        from catalog.seller_menu import seller_menu_add
        from shop import checks  # noqa: F401 - registers the system checks

        seller_menu_add(key="sales", label=_("Sales"), url_name="shop:sell_sales", position=40)
        seller_menu_add(
            key="codes", label=_("Discount codes"), url_name="shop:sell_codes", position=60
        )
        seller_menu_add(
            key="payouts", label=_("Payouts"), url_name="shop:sell_payouts", position=70
        )
