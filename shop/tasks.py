"""Background work for the shop (Django's tasks API through django-tasks).

The mails an order promises are durable tasks (catalog/outbox): written with
the paid order, sent once, retried until the mail server answers.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from catalog.outbox.services import durable_task
from delivery.services import library_get_or_create, library_link_create
from shop.models import Order


@durable_task
def send_receipt(*, order_id: int) -> None:
    """Email the buyer their receipt with a fresh link to their library."""
    order = Order.objects.prefetch_related("items").get(pk=order_id)
    library = library_get_or_create(email=order.buyer_email)
    token = library_link_create(library=library)
    context = {
        "order": order,
        "items": list(order.items.all()),
        "library_url": settings.SITE_URL + reverse("delivery:library", kwargs={"token": token}),
        "receipt_url": settings.SITE_URL + order.get_absolute_url(),
        "store_name": settings.STORE_NAME,
    }
    message = EmailMultiAlternatives(
        subject=f"Your {settings.STORE_NAME} receipt and downloads",
        body=render_to_string("shop/email/receipt.txt", context),
        to=[order.buyer_email],
    )
    message.attach_alternative(render_to_string("shop/email/receipt.html", context), "text/html")
    message.send()


@durable_task
def send_sale_notifications(*, order_id: int) -> None:
    """Tell each seller in the order what they just sold."""
    order = Order.objects.get(pk=order_id)
    items = list(order.items.select_related("seller__user"))
    for seller_id in sorted({item.seller_id for item in items}):
        mine = [item for item in items if item.seller_id == seller_id]
        seller = mine[0].seller
        if not seller.user.email:
            continue
        context = {
            "order": order,
            "items": mine,
            "seller": seller,
            "store_name": settings.STORE_NAME,
        }
        subject = (
            f"You sold {mine[0].title}" if len(mine) == 1 else f"You sold {len(mine)} products"
        )
        message = EmailMultiAlternatives(
            subject=subject,
            body=render_to_string("shop/email/sale.txt", context),
            to=[seller.user.email],
        )
        message.send()
