"""`manage.py library_link EMAIL`: a fresh library link for support staff."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, ManagementUtility, call_command

from delivery.models import LibraryLink
from delivery.services import entitlement_grant, library_get_or_create

pytestmark = pytest.mark.django_db


def _run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("library_link", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_prints_a_working_absolute_library_url(client, product, pdf_asset, settings):
    settings.SITE_URL = "https://shop.example.com"
    entitlement_grant(email="fan@example.com", product=product)
    out, _ = _run("FAN@example.com ")
    url = out.strip()
    assert url.startswith("https://shop.example.com/library/")
    assert len(out.splitlines()) == 1
    page = client.get(url.removeprefix("https://shop.example.com"))
    assert page.status_code == 200
    assert product.title in page.content.decode()


def test_each_run_makes_a_new_link_and_keeps_the_old_ones(product):
    entitlement_grant(email="fan@example.com", product=product)
    first, _ = _run("fan@example.com")
    second, _ = _run("fan@example.com")
    assert first != second
    assert LibraryLink.objects.filter(revoked_at=None).count() == 2


def test_an_email_without_a_library_is_a_clear_error(db):
    with pytest.raises(CommandError, match=r"No library for nobody@example\.com"):
        _run("nobody@example.com")
    assert not LibraryLink.objects.exists()


def test_a_malformed_email_is_a_clear_error(db):
    with pytest.raises(CommandError, match="not an email address"):
        _run("nobody-at-example")


def test_an_empty_library_still_gets_a_link_with_a_note(db):
    library_get_or_create(email="window-shopper@example.com")
    out, err = _run("window-shopper@example.com")
    assert "/library/" in out
    assert "holds no purchase yet" in err


def test_the_command_exits_non_zero_from_the_shell(db, capsys):
    # What manage.py does with the CommandError: a one-line message, status 1.
    utility = ManagementUtility(["manage.py", "library_link", "nobody@example.com"])
    with pytest.raises(SystemExit) as exited:
        utility.execute()
    assert exited.value.code == 1
    assert "CommandError: No library for nobody@example.com" in capsys.readouterr().err
