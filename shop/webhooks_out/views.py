"""The webhook pages under ``/sell/webhooks/``: endpoints, their deliveries, replays."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from catalog.access import request_seller, seller_required
from catalog.seller_events import EVENT_TYPES
from shop.webhooks_out import services
from shop.webhooks_out.access import access_delivery_for_seller, access_endpoint_for_seller
from shop.webhooks_out.forms import EndpointForm
from shop.webhooks_out.models import Attempt, Delivery, Endpoint

DELIVERIES_SHOWN = 30


def _no_store(response: HttpResponse) -> HttpResponse:
    # A secret may be on the page: never kept by a cache or a back button.
    response["Cache-Control"] = "private, no-store"
    return response


@seller_required
@require_http_methods(["GET", "POST"])
def endpoints(request: HttpRequest) -> HttpResponse:
    seller = request_seller(request)
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = services.endpoint_create(seller=seller, **form.cleaned_data)
        except services.WebhookError as exc:
            form.add_error(exc.field, exc.message)
        else:
            return _endpoint_page(request, endpoint, secret=secret, status=201)
    rows = Endpoint.objects.filter(seller=seller)
    response = render(
        request,
        "webhooks_out/endpoints.html",
        {"seller": seller, "form": form, "endpoints": rows, "event_labels": EVENT_TYPES},
        status=400 if form.is_bound else 200,
    )
    return _no_store(response)


def _endpoint_page(
    request: HttpRequest,
    endpoint: Endpoint,
    *,
    form: EndpointForm | None = None,
    secret: str = "",
    status: int = 200,
) -> HttpResponse:
    if form is None:
        form = EndpointForm(
            initial={
                "url": endpoint.url,
                "events": endpoint.events,
                "description": endpoint.description,
            }
        )
    deliveries = list(
        Delivery.objects.filter(endpoint=endpoint)
        .select_related("event")
        .prefetch_related("tries")[:DELIVERIES_SHOWN]
    )
    for delivery in deliveries:
        tries: list[Attempt] = list(delivery.tries.all())
        for attempt in tries:
            attempt.message = services.attempt_error_message(attempt)  # type: ignore[attr-defined]
        delivery.shown_tries = tries  # type: ignore[attr-defined]
    response = render(
        request,
        "webhooks_out/endpoint.html",
        {
            "seller": request_seller(request),
            "endpoint": endpoint,
            "form": form,
            "secret": secret,
            "deliveries": deliveries,
            "event_labels": EVENT_TYPES,
            "overlap_hours": settings.WEBHOOKS_SECRET_OVERLAP_SECONDS // 3600,
            "disable_days": settings.WEBHOOKS_DISABLE_AFTER_SECONDS // 86400,
        },
        status=status,
    )
    return _no_store(response)


@seller_required
@require_http_methods(["GET", "POST"])
def endpoint(request: HttpRequest, endpoint: int) -> HttpResponse:
    found = access_endpoint_for_seller(request, endpoint)
    if request.method == "GET":
        return _endpoint_page(request, found)
    form = EndpointForm(request.POST)
    if form.is_valid():
        try:
            services.endpoint_update(endpoint=found, **form.cleaned_data)
        except services.WebhookError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(request, gettext("The endpoint is saved."))
            return redirect("webhooks_out:endpoint", endpoint=found.pk)
    return _endpoint_page(request, found, form=form, status=400)


@seller_required
@require_POST
def endpoint_enabled(request: HttpRequest, endpoint: int) -> HttpResponse:
    found = access_endpoint_for_seller(request, endpoint)
    turn_on = request.POST.get("enabled") == "1"
    services.endpoint_set_enabled(endpoint=found, enabled=turn_on)
    messages.success(
        request,
        gettext("The endpoint is on: events are sent to it again.")
        if turn_on
        else gettext("The endpoint is off: nothing is sent to it until you turn it on."),
    )
    return redirect("webhooks_out:endpoint", endpoint=found.pk)


@seller_required
@require_POST
def endpoint_roll(request: HttpRequest, endpoint: int) -> HttpResponse:
    found = access_endpoint_for_seller(request, endpoint)
    secret = services.endpoint_secret_roll(endpoint=found)
    found.refresh_from_db()
    return _endpoint_page(request, found, secret=secret)


@seller_required
@require_POST
def endpoint_test(request: HttpRequest, endpoint: int) -> HttpResponse:
    found = access_endpoint_for_seller(request, endpoint)
    return _send(
        request,
        found,
        lambda: services.endpoint_send_test(endpoint=found),
        gettext("A test event is on its way: see it below."),
    )


@seller_required
@require_POST
def endpoint_delete(request: HttpRequest, endpoint: int) -> HttpResponse:
    found = access_endpoint_for_seller(request, endpoint)
    services.endpoint_delete(endpoint=found)
    messages.success(request, gettext("The endpoint %(url)s is deleted.") % {"url": found.url})
    return redirect("webhooks_out:endpoints")


@seller_required
@require_POST
def delivery_replay(request: HttpRequest, delivery: int) -> HttpResponse:
    found = access_delivery_for_seller(request, delivery)
    return _send(
        request,
        found.endpoint,
        lambda: services.delivery_replay(delivery=found),
        gettext("%(event)s is sent again, with the same event id.")
        % {"event": found.event.public_id},
    )


def _send(
    request: HttpRequest, endpoint: Endpoint, send: Callable[[], Delivery], done: str
) -> HttpResponse:
    """A test event or a replay: sent, or the reason why not, back on the endpoint's page."""
    try:
        send()
    except services.WebhookError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("webhooks_out:endpoint", endpoint=endpoint.pk)
