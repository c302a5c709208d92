"""The worker's side of renditions: make one, and tell those who should know."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django_tasks import task

from catalog.mail import mail_task
from catalog.models import Asset
from delivery.formats import services
from delivery.formats.models import Rendition, RenditionWait
from delivery.formats.presets import PRESETS
from delivery.services import library_link_create


@task()
def rendition_make_task(*, rendition_id: int, asset_id: int) -> None:
    """ffmpeg and mutagen for one rendition; idempotent (a claimed or finished one is left)."""
    services.rendition_make(rendition_id=rendition_id, asset_id=asset_id)


@mail_task
def rendition_ready_mail(*, wait_id: int) -> None:
    """To a buyer who left the page: the file is ready (or could not be made)."""
    wait = RenditionWait.objects.select_related(
        "rendition", "asset", "entitlement__library", "entitlement__product"
    ).get(pk=wait_id)
    library = wait.entitlement.library
    token = library_link_create(library=library)
    url = settings.SITE_URL + reverse("delivery:library", kwargs={"token": token})
    rendition = wait.rendition
    context = {
        "url": url,
        "file": wait.asset.original_filename,
        "format": PRESETS[rendition.preset].label,
        "product": wait.entitlement.product.title,
        "ready": rendition.is_ready,
        "error": rendition.error,
    }
    if rendition.is_ready:
        subject = _("Your file is ready: %(file)s (%(format)s)") % context
    else:
        subject = _("Your file could not be converted: %(file)s (%(format)s)") % context
    send_mail(
        subject=subject,
        message=render_to_string("delivery/email/rendition_ready.txt", context),
        from_email=None,
        recipient_list=[library.email],
    )


@mail_task
def rendition_failed_seller_mail(*, rendition_id: int, asset_id: int) -> None:
    """To the seller: a buyer asked for a format of this file and it could not be made."""
    rendition = Rendition.objects.get(pk=rendition_id)
    asset = Asset.objects.select_related("product__seller__user").get(pk=asset_id)
    seller = asset.product.seller
    context = {
        "file": asset.original_filename,
        "product": asset.product.title,
        "format": PRESETS[rendition.preset].label,
        "error": rendition.error,
    }
    send_mail(
        subject=_("A file of “%(product)s” could not be converted to %(format)s") % context,
        message=render_to_string("delivery/email/rendition_failed_seller.txt", context),
        from_email=None,
        recipient_list=[seller.user.email],
    )
