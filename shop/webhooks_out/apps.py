from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksOutConfig(AppConfig):
    """Outgoing webhooks, on top of commerce, funding and follows; the API may read it."""

    name = "shop.webhooks_out"
    label = "webhooks_out"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        from catalog.seller_events import seller_event_listen
        from catalog.seller_menu import seller_menu_add
        from shop.webhooks_out.services import event_record

        seller_event_listen(event_record)
        seller_menu_add(
            key="webhooks", label=_("Webhooks"), url_name="webhooks_out:endpoints", position=85
        )
