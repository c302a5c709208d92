"""Who may act on which campaign: the seller-side gate, for the seller pages and the API.

A seller reaches a campaign only when it is theirs; anything else is a 404, so the
answer never says that another seller's campaign exists.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest

from catalog.access import request_seller
from shop.funding.models import Campaign


def access_campaign_for_seller(request: HttpRequest, campaign_id: int) -> Campaign:
    """One of the requesting seller's campaigns (product and seller loaded)."""
    found = (
        Campaign.objects.filter(seller=request_seller(request), pk=campaign_id)
        .select_related("product", "seller")
        .first()
    )
    if found is None:
        raise Http404("No such campaign.")
    return found
