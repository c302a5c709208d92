"""Two clocks settle the same campaign at the same moment: one charges, nobody twice (PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone

from shop.funding.models import Campaign, Pledge
from shop.funding.settlement import Report, funding_settle
from shop.models import Order

BACKERS = 30


@pytest.mark.django_db(transaction=True)
def test_two_clocks_at_once_charge_every_pledge_exactly_once(campaign, tiers, stripe_fake):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions need PostgreSQL (SQLite serialises writers)")
    Pledge.objects.bulk_create(
        Pledge(
            campaign=campaign,
            tier=tiers["album"],
            email=f"fan{n}@example.com",
            amount=1500,
            currency="EUR",
            promised=tiers["album"].rewards,
            status=Pledge.Status.ACTIVE,
            number=n + 1,
            provider="stripe",
            customer_id=f"cus_test{n}",
            payment_method_id=f"pm_test{n}",
        )
        for n in range(BACKERS)
    )
    Campaign.objects.filter(pk=campaign.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    barrier = threading.Barrier(2)
    reports: list[Report] = []

    def clock() -> None:
        barrier.wait()
        try:
            reports.append(funding_settle())
        finally:
            close_old_connections()

    threads = [threading.Thread(target=clock) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(len(r.campaigns) for r in reports) == [0, 1]
    assert sum(r.charged for r in reports) == BACKERS
    assert len(stripe_fake.intents) == BACKERS
    assert Order.objects.filter(status=Order.Status.PAID).count() == BACKERS
    assert Order.objects.count() == BACKERS
    assert Campaign.objects.get().status == Campaign.Status.SUCCEEDED
