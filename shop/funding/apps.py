from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FundingConfig(AppConfig):
    name = "shop.funding"
    label = "funding"
    verbose_name = _("Fan funding")

    def ready(self) -> None:
        from catalog.seller_menu import seller_menu_add
        from shop.funding import webhooks

        seller_menu_add(
            key="campaigns", label=_("Campaigns"), url_name="funding:sell_campaigns", position=35
        )
        webhooks.register()
