"""Fan funding tells the seller's webhooks: a pledge once its card is saved, a settled campaign once."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from shop.funding.models import Pledge
from shop.webhooks_out.models import Event
from tests.funding.test_pledges import pledge
from tests.funding.test_settlement import close
from tests.webhooks_out.conftest import hooked, receiver  # noqa: F401 - shared fixture

pytestmark = pytest.mark.django_db


def _bodies(got, type_):
    return [json.loads(r.body) for r in got.received if json.loads(r.body)["type"] == type_]


def test_a_pledge_and_a_missed_goal_send_their_events(client, campaign, tiers, receiver, commit):  # noqa: F811
    hooked(receiver.url, events=["pledge.created", "campaign.settled"], seller=campaign.seller)
    pledge(client, campaign, tiers["album"], email="a@example.com", card=None)
    assert _bodies(receiver, "pledge.created") == []  # no card saved yet: not a pledge
    pledge(client, campaign, tiers["album"], email="b@example.com")
    [event] = _bodies(receiver, "pledge.created")
    saved = Pledge.objects.get(email="b@example.com")
    assert event["data"]["pledge"] == str(saved.public_id)
    assert event["data"]["amount"] == 1500 and event["data"]["currency"] == "EUR"
    assert event["data"]["backer_number"] == 1 and event["data"]["tier"] == "The album"
    close(campaign)
    with commit():
        call_command("funding_settle", stdout=io.StringIO())
        call_command("funding_settle", stdout=io.StringIO())
    [settled] = _bodies(receiver, "campaign.settled")
    assert settled["data"]["campaign_id"] == campaign.pk and settled["data"]["funded"] is False
    assert settled["data"]["goal"] == 5000
    assert Event.objects.filter(type="campaign.settled").count() == 1
