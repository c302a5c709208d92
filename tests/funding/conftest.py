from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from catalog.models import Asset, Product
from shop.funding.models import Campaign, Tier
from tests.factories import ProductFactory, add_file, demo_media
from tests.shop.conftest import deliver, stripe_fake  # noqa: F401 - shared fixtures


@pytest.fixture
def record(db) -> Product:
    """The record to be made: a draft product with one preview (the sample track)."""
    product = ProductFactory(
        title="Low Tide", kind=Product.Kind.MUSIC, status=Product.Status.DRAFT, price=1000
    )
    add_file(
        product,
        demo_media("album-01-departure.mp3"),
        "low-tide-sample.mp3",
        role=Asset.Role.PREVIEW,
    )
    return product


@pytest.fixture
def campaign(record: Product) -> Campaign:
    found = Campaign.objects.create(
        seller=record.seller,
        product=record,
        title="Low Tide, the first album",
        story="We need a *studio*.",
        goal=5000,
        currency="EUR",
        deadline=timezone.now() + timedelta(days=10),
        release_date=(timezone.now() + timedelta(days=40)).date(),
        status=Campaign.Status.LIVE,
    )
    found.samples.set(record.assets.filter(role=Asset.Role.PREVIEW))
    return found


@pytest.fixture
def tiers(campaign: Campaign) -> dict[str, Tier]:
    return {
        "album": Tier.objects.create(
            campaign=campaign, title="The album", minimum=1500, rewards="The album on release day."
        ),
        "credit": Tier.objects.create(
            campaign=campaign,
            title="Credit line",
            minimum=3000,
            cap=2,
            rewards="The album and your name in the credits.",
        ),
        "free": Tier.objects.create(
            campaign=campaign,
            title="Pay what you want",
            minimum=500,
            free_amount=True,
            rewards="The album.",
            position=5,
        ),
    }


@pytest.fixture(autouse=True)
def _requests_commit(django_capture_on_commit_callbacks, monkeypatch):
    """A request's on-commit work (mails, tasks) runs when the request ends, as in production
    (the test's own transaction never commits)."""
    original = Client.request

    def request(self, **environ):
        with django_capture_on_commit_callbacks(execute=True):
            return original(self, **environ)

    monkeypatch.setattr(Client, "request", request)


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """``with commit(): ...`` runs the block's on-commit callbacks when it ends."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
