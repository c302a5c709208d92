"""``manage.py library_link EMAIL``: a fresh library link for support staff to send."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.core.validators import validate_email
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from catalog.accounts import email_normalize
from catalog.cli import PeopleCommand
from delivery import selectors
from delivery.services import library_link_create


class Command(PeopleCommand):
    help = gettext_noop(
        "Print the absolute URL of a new library link for the buyer with this email "
        "(the host comes from SITE_URL). Older links keep working."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help=gettext_noop("the email address the buyer paid with"))

    def handle(self, *args: Any, **options: Any) -> None:
        email = email_normalize(options["email"])
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(
                _("“%(text)s” is not an email address.") % {"text": options["email"]}
            ) from None
        library = selectors.library_for_email(email=email)
        if library is None:
            raise CommandError(
                _(
                    "No library for %(email)s: nothing was bought with this address. "
                    "Check the spelling, or search Libraries in the admin."
                )
                % {"email": email}
            )
        if not library.entitlements.exists():
            self.stderr.write(
                _("Note: the library of %(email)s holds no purchase yet.")
                % {"email": library.email}
            )
        token = library_link_create(library=library)
        # stdout carries the URL alone, so the command can feed a script.
        self.stdout.write(settings.SITE_URL + reverse("delivery:library", kwargs={"token": token}))
