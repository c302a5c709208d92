"""`manage.py demo`: real small media, every kind of product, a buyer who owns some; idempotent."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from catalog.models import Asset, Product, Seller
from delivery.models import Download, Entitlement, Library, LibraryLink
from shop.demo.build import (
    HISTORY_DAYS,
    HISTORY_KEY,
    HISTORY_SELLER,
    MEDIA_DIR,
    SELLER_PASSWORD,
)
from shop.models import Order, OrderItem, Refund
from shop.stats.models import ProductView

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

MODELS = (Seller, Product, Asset, Order, Entitlement, Library, LibraryLink)


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def test_the_demo_fills_the_shop_and_running_it_twice_changes_nothing(client):
    out = StringIO()
    call_command("demo", "--force", stdout=out)
    first = _counts()
    assert first["Seller"] >= 2
    published = Product.objects.filter(status=Product.Status.PUBLISHED)
    assert published.count() >= 6
    assert all(p.cover for p in published)
    assert {"application/pdf", "application/epub+zip", "audio/mpeg", "video/mp4"} <= set(
        Asset.objects.values_list("mime_type", flat=True)
    )
    album = Product.objects.get(slug="night-trains")
    assert album.assets.filter(mime_type="audio/mpeg").count() >= 3
    lossless = Product.objects.get(slug="tide-tables")
    assert lossless.assets.filter(mime_type__in=["audio/flac", "audio/wav"]).count() == 3
    assert lossless.entitlements.filter(library__email="buyer@example.com").exists()
    buyer = Library.objects.get(email="buyer@example.com")
    assert buyer.user is not None and buyer.user.username == "buyer"
    assert buyer.entitlements.filter(status="active").count() >= 2
    assert (
        Order.objects.filter(status=Order.Status.PAID, buyer_email="buyer@example.com").count() >= 2
    )
    assert re.search(r"Library link +http://testserver/library/", out.getvalue())
    assert re.search(r"Health +http://testserver/readyz", out.getvalue())
    assert re.search(r"Background +http://testserver/admin/outbox/outboxtask/", out.getvalue())
    assert re.search(r"Search +http://testserver/search/\?q=trains", out.getvalue())
    assert re.search(r"Seller API +http://testserver/api/v1/docs", out.getvalue())
    assert client.get("/search/?q=trains").status_code == 200
    assert "Night Trains" in client.get("/search/?q=trains").content.decode()
    assert client.get("/tags/ambient/").status_code == 200
    assert client.get("/api/v1/docs").status_code == 200

    again = StringIO()
    call_command("demo", "--force", stdout=again)
    assert _counts() == first
    assert "(0 new)" in again.getvalue()


def test_the_demo_files_are_real_and_small():
    files = [
        path
        for path in MEDIA_DIR.iterdir()
        if path.suffix in {".pdf", ".epub", ".mp3", ".ogg", ".mp4"}
    ]
    assert len(files) >= 8
    assert sum(path.stat().st_size for path in files) < 3 * 1024 * 1024


def test_every_demo_file_downloads_byte_for_byte():
    call_command("demo", "--force", stdout=StringIO())
    # The lossless album is made at demo time (shop.demo.lossless), not read from MEDIA_DIR.
    for asset in Asset.objects.exclude(product__slug="tide-tables"):
        with asset.stored.open("rb") as stored:
            assert stored.read() == (MEDIA_DIR / asset.original_filename).read_bytes()


def test_the_demo_has_previews_to_hear_followers_and_an_embed(client):
    from catalog.follows.services import followers_count

    call_command("demo", "--force", stdout=StringIO())
    album = Product.objects.get(slug="night-trains")
    html = client.get(album.get_absolute_url()).content.decode()
    assert '<audio controls preload="none" src="/media/previews/' in html
    (preview,) = album.assets.filter(role=Asset.Role.PREVIEW)
    assert preview.player == "audio" and 5 < preview.metadata["duration_seconds"] < 10
    film = Product.objects.get(slug="harbour-at-dusk")
    assert film.assets.get(role=Asset.Role.PREVIEW).player == "video"
    assert followers_count(seller=album.seller) == 3
    assert album.seller.is_organization  # a duo: an Organization for search engines
    embed = client.get(f"/embed/@{album.seller.slug}/{album.slug}/")
    assert embed.status_code == 200 and b"<audio" in embed.content
    # Running it again adds no follower and no preview.
    call_command("demo", "--force", stdout=StringIO())
    assert followers_count(seller=album.seller) == 3
    assert album.assets.filter(role=Asset.Role.PREVIEW).count() == 1


def test_the_demo_refuses_to_run_on_a_production_setup(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("demo", stdout=StringIO())
    assert not Seller.objects.exists()


def test_serve_migrates_fills_and_serves_in_one_command(monkeypatch):
    """The README's quick start: ``manage.py demo --serve`` on a fresh checkout."""
    from django.core.management.commands import migrate, runserver

    calls: list[tuple[str, dict]] = []
    real_migrate = migrate.Command.handle

    def fake_migrate(self, *args, **options):
        calls.append(("migrate", options))
        return real_migrate(self, *args, **options)

    def fake_runserver(self, *args, **options):
        calls.append(("runserver", options))
        assert Product.objects.filter(status=Product.Status.PUBLISHED).count() >= 6

    monkeypatch.setattr(migrate.Command, "handle", fake_migrate)
    monkeypatch.setattr(runserver.Command, "handle", fake_runserver)
    out = StringIO()
    call_command("demo", "--force", "--serve", stdout=out)
    assert [name for name, _ in calls] == ["migrate", "runserver"]
    served = calls[1][1]
    assert served["addrport"] == "127.0.0.1:8000"
    assert served["use_reloader"] is False
    assert "Demo ready" in out.getvalue()
    calls.clear()
    call_command("demo", "--force", "--serve", "0.0.0.0:9000", stdout=StringIO())
    assert calls[1][1]["addrport"] == "0.0.0.0:9000"


def test_the_demo_seller_has_two_months_on_the_dashboard(client):
    call_command("demo", "--force", stdout=StringIO())
    history = Order.objects.filter(checkout_key__startswith=HISTORY_KEY)
    assert history.count() >= 30
    oldest = min(history.values_list("paid_at", flat=True))
    assert timezone.now() - oldest > timedelta(days=HISTORY_DAYS - 2)
    assert Refund.objects.filter(order__in=history).exists()
    later = timezone.now()
    assert not Refund.objects.filter(created_at__gt=later).exists()  # nothing in the future
    assert not Download.objects.filter(at__gt=later).exists()
    assert ProductView.objects.filter(seller__slug=HISTORY_SELLER).count() > 100
    assert client.login(username="ondes@example.com", password=SELLER_PASSWORD)
    page = client.get("/sell/stats/", {"range": "30d"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Night Trains" in html and "mastodon.social" in html
    rows = OrderItem.objects.filter(
        order__in=history, order__paid_at__gte=timezone.now() - timedelta(days=30)
    )
    assert rows.exists()


def _serve(monkeypatch, *args: str) -> tuple[str, list[str]]:
    """Run ``demo --serve ...`` with a runserver that only notes the SITE_URL it serves under."""
    from django.conf import settings
    from django.core.management.commands import runserver

    served: list[str] = []
    monkeypatch.setattr(
        runserver.Command, "handle", lambda self, *a, **o: served.append(settings.SITE_URL)
    )
    out = StringIO()
    call_command("demo", "--force", "--serve", *args, stdout=out)
    return out.getvalue(), served


def test_served_on_another_address_every_link_and_email_points_there(settings, monkeypatch):
    settings.SITE_URL_EXPLICIT = False
    settings.SITE_URL = "http://127.0.0.1:8000"
    printed, served = _serve(monkeypatch, "localhost:8123")
    links = re.findall(r"https?://[^\s)]+", printed)
    assert len(links) >= 5
    assert all(link.startswith("http://localhost:8123/") for link in links), links
    assert "/library/" in printed
    mailed = "\n".join(message.body for message in mail.outbox)
    assert "http://localhost:8123/library/" in mailed
    assert "127.0.0.1:8000" not in mailed
    # The server itself runs under the same address, for the emails it sends.
    assert served == ["http://localhost:8123"]


def test_a_site_url_the_operator_set_wins_over_the_address_served(settings, monkeypatch):
    settings.SITE_URL_EXPLICIT = True
    settings.SITE_URL = "https://shop.example.com"
    printed, served = _serve(monkeypatch, "0.0.0.0:9000")
    links = re.findall(r"https?://[^\s)]+", printed)
    assert links and all(link.startswith("https://shop.example.com/") for link in links)
    assert served == ["https://shop.example.com"]


def test_the_console_shows_the_summary_only_no_raw_emails_or_task_lines(settings, capsys, caplog):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    caplog.set_level(logging.INFO)
    call_command("demo", "--force")
    printed = capsys.readouterr()
    lines = printed.out.strip().splitlines()
    assert "Content-Type" not in printed.out + printed.err
    assert not [r for r in caplog.records if r.name.startswith("django_tasks")]
    assert len(lines) <= 18, printed.out  # one line per feature to try, no more
    assert lines[0].startswith("Demo ready")
    summary = printed.out
    for expected in (
        "Open the shop  http://testserver/\n",
        "A product      http://testserver/@",
        "buyer / demo-buyer-pass",
        "ondes@example.com / demo-seller-pass",
        "Library link   http://testserver/library/",
        "6 written by the demo, not printed (--emails prints them)",
    ):
        assert expected in summary


def test_emails_print_when_asked(settings, capsys):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    call_command("demo", "--force", "--emails")
    printed = capsys.readouterr().out
    assert printed.count("Subject: ") == 6
    assert printed.rstrip().splitlines()[-1].strip().startswith("the emails the shop sends")


def test_the_demo_has_a_live_a_released_and_a_failed_campaign():
    from delivery.models import Entitlement
    from shop.funding.models import Campaign, Pledge

    out = StringIO()
    call_command("demo", "--force", stdout=out)
    live, released, failed = Campaign.objects.order_by("pk")
    assert (
        live.status == Campaign.Status.LIVE
        and live.pledges.filter(number__isnull=False).count() == 4
    )
    assert released.status == Campaign.Status.SUCCEEDED and released.released_at
    assert Entitlement.objects.filter(
        product=released.product, library__email="buyer@example.com"
    ).exists()
    assert released.pledges.filter(status=Pledge.Status.RECOVERING).count() == 1
    assert failed.status == Campaign.Status.FAILED
    assert not failed.pledges.exclude(status=Pledge.Status.RELEASED).exists()
    assert f"Fan funding    http://testserver/campaigns/{live.pk}/" in out.getvalue()
    call_command("demo", "--force", stdout=StringIO())
    assert Campaign.objects.count() == 3


def test_the_demo_can_be_searched_and_its_tags_and_kinds_have_pages(client):
    call_command("demo", "--force", stdout=StringIO())
    found = client.get("/search/", {"q": "trains"}).content.decode()
    assert "<mark>Trains</mark>" in found and "Recipes from a Tiny Kitchen" not in found
    assert (
        "Recipes from a Tiny Kitchen" in client.get("/search/", {"q": "cookbook"}).content.decode()
    )
    ambient = client.get("/tags/ambient/").content.decode()
    assert (
        "Night Trains" in ambient and "Tide Tables" in ambient and "Harbour at Dusk" not in ambient
    )
    assert "Harbour at Dusk" in client.get("/videos/").content.decode()
    music = client.get("/music/").content.decode()
    assert "Morning Light" in music and "Field Notes on Small Shops" not in music
    album = Product.objects.get(slug="night-trains")
    page = client.get(album.get_absolute_url()).content.decode()
    assert 'href="/tags/ambient/"' in page and 'class="muted duration"' in page
