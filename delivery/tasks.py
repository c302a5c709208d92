"""Background work for delivery (Django's tasks API through django-tasks)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext

from catalog.mail import mail_task
from delivery.models import Library
from delivery.services import library_link_create


@mail_task
def send_library_link(*, library_id: int) -> None:
    """Mail a fresh library link to the library's own address.

    The link is minted here, in the worker, so the bearer token never sits in
    the task queue.
    """
    library = Library.objects.get(pk=library_id)
    token = library_link_create(library=library)
    url = settings.SITE_URL + reverse("delivery:library", kwargs={"token": token})
    send_mail(
        subject=gettext("Your %(store)s library") % {"store": settings.STORE_NAME},
        message=render_to_string("delivery/email/library_link.txt", {"url": url}),
        from_email=None,
        recipient_list=[library.email],
    )
