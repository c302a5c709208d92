"""Background work for the catalog (Django's tasks API through django-tasks)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django_tasks import task

from catalog.models import Seller


@task()
def send_verification_email(*, seller_id: int) -> None:
    """Email a seller the signed link that proves the address is theirs."""
    from catalog.services import email_verification_token

    seller = Seller.objects.select_related("user").get(pk=seller_id)
    token = email_verification_token(seller=seller)
    context = {
        "seller": seller,
        "verify_url": settings.SITE_URL + reverse("catalog:sell_verify", kwargs={"token": token}),
        "valid_days": max(1, settings.EMAIL_VERIFY_MAX_AGE // 86400),
        "store_name": settings.STORE_NAME,
    }
    send_mail(
        subject=f"Confirm your email for {settings.STORE_NAME}",
        message=render_to_string("catalog/sell/email/verify.txt", context),
        from_email=None,
        recipient_list=[seller.user.email],
    )


@task()
def run_catalog_import(*, job_id: int) -> None:
    """Import the catalog ZIP an ImportJob points at; progress goes on the job row."""
    from catalog.imports import import_job_start_from_storage

    import_job_start_from_storage(job_id=job_id)
