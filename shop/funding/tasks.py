"""Mails to backers, each a task that builds its mail (and mints its link) when it runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from catalog.l10n import language_or_default
from catalog.mail import mail_task
from delivery.services import library_get_or_create, library_link_create
from shop.funding.links import pledge_link_create
from shop.funding.models import HOLDING, CampaignUpdate, Pledge


def _pledge_url(pledge: Pledge) -> str:
    token = pledge_link_create(pledge=pledge)
    return settings.SITE_URL + reverse("funding:pledge", kwargs={"token": token})


def _send(pledge: Pledge, *, subject: str, template: str, **extra: Any) -> None:
    context = {
        "pledge": pledge,
        "campaign": pledge.campaign,
        "store_name": settings.STORE_NAME,
        **extra,
    }
    send_mail(
        subject=subject,
        message=render_to_string(f"funding/email/{template}.txt", context),
        from_email=None,
        recipient_list=[pledge.email],
    )


@contextmanager
def _pledge(pledge_id: int) -> Iterator[Pledge]:
    """The pledge, with its backer's language active (the worker has no request):
    subject, text and links are written in it."""
    pledge = Pledge.objects.select_related("campaign", "tier").get(pk=pledge_id)
    with translation.override(language_or_default(pledge.language)):
        yield pledge


@mail_task
def send_pledge_link(*, pledge_id: int, why: str = "saved") -> None:
    """The pledge is counted (or a fresh link was asked for): a magic link to see or change it."""
    with _pledge(pledge_id) as pledge:
        _send(
            pledge,
            subject=_("Your pledge to “%(title)s”") % {"title": pledge.campaign.title},
            template="pledge_saved",
            url=_pledge_url(pledge),
            why=why,
        )


@mail_task
def send_not_funded(*, pledge_id: int) -> None:
    with _pledge(pledge_id) as pledge:
        _send(
            pledge,
            subject=_("“%(title)s” was not funded: nothing was charged")
            % {"title": pledge.campaign.title},
            template="not_funded",
        )


@mail_task
def send_payment_needed(*, pledge_id: int) -> None:
    with _pledge(pledge_id) as pledge:
        if pledge.status != Pledge.Status.RECOVERING:
            return
        _send(
            pledge,
            subject=_("“%(title)s” is funded: your payment needs you")
            % {"title": pledge.campaign.title},
            template="payment_needed",
            url=_pledge_url(pledge),
        )


@mail_task
def send_release(*, pledge_id: int) -> None:
    with _pledge(pledge_id) as pledge:
        token = library_link_create(library=library_get_or_create(email=pledge.email))
        _send(
            pledge,
            subject=_("“%(title)s” is out: it is in your library")
            % {"title": pledge.campaign.title},
            template="released",
            library_url=settings.SITE_URL + reverse("delivery:library", kwargs={"token": token}),
        )


@mail_task
def send_update_to(*, update_id: int, pledge_id: int) -> None:
    update = CampaignUpdate.objects.get(pk=update_id)
    with _pledge(pledge_id) as pledge:
        _send(pledge, subject=update.subject, template="update", update=update)


@mail_task
def send_update(*, update_id: int) -> None:
    """One mail task per backer, so a failed address is retried alone."""
    update = CampaignUpdate.objects.get(pk=update_id)
    backers = Pledge.objects.filter(campaign_id=update.campaign_id, status__in=HOLDING)
    for pledge_id in backers.values_list("pk", flat=True).iterator():
        send_update_to.enqueue(update_id=update_id, pledge_id=pledge_id)
