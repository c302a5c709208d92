"""Background work for the shop (Django's tasks API through django-tasks).

The mails an order promises are durable tasks (catalog/outbox): written with
the paid order, sent once, retried until the mail server answers.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, ngettext

from catalog.l10n import language_or_default
from catalog.outbox.services import durable_task, outbox_message_id
from delivery.services import library_get_or_create, library_link_create
from shop.models import Order, OrderItem


def _message_id() -> dict[str, str]:
    """The outbox row's own Message-ID: a mail sent again after a crash is one message."""
    message_id = outbox_message_id()
    return {"Message-ID": message_id} if message_id else {}


@durable_task
def send_receipt(*, order_id: int) -> None:
    """Email the buyer their receipt with a fresh link to their library."""
    # The items with their order and its invoice, in one read.
    items = list(OrderItem.objects.filter(order_id=order_id).select_related("order__invoice"))
    order = items[0].order if items else Order.objects.select_related("invoice").get(pk=order_id)
    with translation.override(language_or_default(order.language)):
        _receipt_send(order, items)


def _receipt_send(order: Order, items: list[OrderItem]) -> None:
    library = library_get_or_create(email=order.buyer_email)
    token = library_link_create(library=library)
    context = {
        "order": order,
        "items": items,
        "library_url": settings.SITE_URL + reverse("delivery:library", kwargs={"token": token}),
        "receipt_url": settings.SITE_URL + order.get_absolute_url(),
        "invoice_url": (
            settings.SITE_URL + reverse("shop:invoice_pdf", kwargs={"order": order.public_id})
            if hasattr(order, "invoice")
            else ""
        ),
        "store_name": settings.STORE_NAME,
    }
    message = EmailMultiAlternatives(
        subject=gettext("Your %(store)s receipt and downloads") % {"store": settings.STORE_NAME},
        body=render_to_string("shop/email/receipt.txt", context),
        to=[order.buyer_email],
        headers=_message_id(),
    )
    message.attach_alternative(render_to_string("shop/email/receipt.html", context), "text/html")
    message.send()


@durable_task
def send_sale_notification(*, order_id: int, seller_id: int) -> None:
    """Tell one seller what they just sold in the order (one task per seller, so a
    mail server failing on the second seller never sends the first one's again)."""
    # The seller's items with the order, in one read.
    mine = list(
        OrderItem.objects.filter(order_id=order_id, seller_id=seller_id).select_related(
            "order", "seller__user"
        )
    )
    if not mine:
        Order.objects.get(pk=order_id)  # an order that is gone fails the task
        return
    order, seller = mine[0].order, mine[0].seller
    if not seller.user.email:
        return
    context = {
        "order": order,
        "items": mine,
        "seller": seller,
        "store_name": settings.STORE_NAME,
    }
    with translation.override(language_or_default(seller.language)):
        subject = (
            gettext("You sold %(title)s") % {"title": mine[0].title}
            if len(mine) == 1
            else ngettext("You sold %(count)d product", "You sold %(count)d products", len(mine))
            % {"count": len(mine)}
        )
        message = EmailMultiAlternatives(
            subject=subject,
            body=render_to_string("shop/email/sale.txt", context),
            to=[seller.user.email],
            headers=_message_id(),
        )
    message.send()
