from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FundingConfig(AppConfig):
    name = "shop.funding"
    label = "funding"
    verbose_name = _("Fan funding")

    def ready(self) -> None:
        from catalog.seller_menu import seller_menu_add
        from delivery.samples import library_samples_source_add
        from shop.funding import webhooks
        from shop.funding.selectors import backer_samples

        seller_menu_add(
            key="campaigns", label=_("Campaigns"), url_name="funding:sell_campaigns", position=35
        )
        webhooks.register()
        library_samples_source_add(key="funding", source=backer_samples)
