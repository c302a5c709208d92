from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShopConfig(AppConfig):
    name = "shop"
    verbose_name = "Shop"

    def ready(self) -> None:
        from catalog.seller_menu import seller_menu_add
        from delivery.models import Entitlement
        from delivery.stamping import stamping_order_number_register
        from shop import checks  # noqa: F401 - registers the system checks
        from shop.models import OrderItem

        def order_number(entitlement: Entitlement) -> str:
            item = OrderItem.objects.filter(entitlement=entitlement).select_related("order").first()
            return str(item.order.public_id) if item is not None else ""

        stamping_order_number_register(order_number)

        seller_menu_add(key="sales", label=_("Sales"), url_name="shop:sell_sales", position=40)
        seller_menu_add(
            key="codes", label=_("Discount codes"), url_name="shop:sell_codes", position=60
        )
        seller_menu_add(
            key="payouts", label=_("Payouts"), url_name="shop:sell_payouts", position=70
        )
