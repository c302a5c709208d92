from typing import Any

from django.contrib import admin, messages
from django.db.models import F, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext, gettext_lazy, gettext_noop, ngettext

from catalog.admin_numbers import ParsedNumbersAdmin
from shop.models import (
    DiscountCode,
    LedgerEntry,
    Order,
    OrderItem,
    PaymentEvent,
    PayoutAccount,
    Refund,
    SellerTransfer,
)
from shop.services import RefundError, order_item_refund


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    readonly_fields = [
        "product",
        "seller",
        "title",
        "list_price",
        "discount_amount",
        "unit_price",
        "tax_behavior",
        "tax_code",
        "tax_rate",
        "tax_amount",
        "platform_fee",
        "refunded_amount",
        "entitlement",
    ]
    exclude = ["discount_code"]
    can_delete = False


_BOTH = Q(billing_country__gt="", card_country__gt="")


class CountryEvidenceFilter(admin.SimpleListFilter):
    """The two pieces of evidence of the buyer's country (VAT): do they agree?"""

    title = gettext_lazy("buyer's country evidence")
    parameter_name = "country_evidence"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("conflict", gettext_lazy("Billing and card countries differ")),
            ("agree", gettext_lazy("Billing and card countries agree")),
            ("missing", gettext_lazy("Evidence missing")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Order]) -> QuerySet[Order]:
        if self.value() == "conflict":
            return queryset.filter(_BOTH).exclude(billing_country=F("card_country"))
        if self.value() == "agree":
            return queryset.filter(_BOTH, billing_country=F("card_country"))
        if self.value() == "missing":
            return queryset.exclude(_BOTH)
        return queryset


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "public_id",
        "buyer_email",
        "status",
        "total",
        "tax_amount",
        "currency",
        "country_evidence",
        "flagged",
        "flag_reason",
        "created_at",
    ]
    list_filter = ["status", "provider", "flagged", CountryEvidenceFilter, "reverse_charge"]
    search_fields = ["public_id", "buyer_email", "provider_session_id", "provider_payment_id"]
    readonly_fields = [f.name for f in Order._meta.fields]
    inlines = [OrderItemInline]
    actions = ["refund_in_full"]

    @admin.display(description=gettext_lazy("Billing / card country"))
    def country_evidence(self, order: Order) -> str:
        text = f"{order.billing_country or '–'} / {order.card_country or '–'}"
        return f"⚠ {text}" if order.country_evidence_conflicts else text

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        order = self.get_object(request, object_id)
        if order is not None and order.country_evidence_conflicts and request.method == "GET":
            self.message_user(
                request,
                gettext(
                    "The billing address is in %(billing)s but the card was issued in "
                    "%(card)s: the VAT rules want two pieces of evidence of the buyer's "
                    "country that agree. Check which country's VAT applies."
                )
                % {"billing": order.billing_country, "card": order.card_country},
                messages.WARNING,
            )
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(
        description=gettext_lazy("Refund what is left of the selected orders (revokes access)")
    )
    def refund_in_full(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        done = 0
        for order in queryset:
            for item in order.items.all():
                if item.refundable <= 0:
                    continue
                try:
                    order_item_refund(
                        item_id=item.pk,
                        amount=item.refundable,
                        reason=gettext_noop("Refunded by the shop."),
                        by=request.user,  # type: ignore[arg-type]
                    )
                    done += 1
                except RefundError as exc:
                    self.message_user(request, f"{order.public_id}: {exc}", messages.ERROR)
        self.message_user(
            request,
            ngettext("%(count)d item refunded.", "%(count)d items refunded.", done)
            % {"count": done},
            messages.SUCCESS,
        )


@admin.register(PaymentEvent)
class PaymentEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "provider", "type", "received_at"]
    search_fields = ["event_id"]


@admin.register(DiscountCode)
class DiscountCodeAdmin(ParsedNumbersAdmin):
    money_fields = ("value",)
    list_display = [
        "code",
        "seller",
        "kind",
        "value",
        "used_count",
        "max_uses",
        "expires_at",
        "active",
    ]
    list_filter = ["kind", "active"]
    search_fields = ["code", "seller__display_name"]
    filter_horizontal = ["products"]


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    list_display = ["order", "item", "amount", "provider_refund_id", "created_at"]
    readonly_fields = [f.name for f in Refund._meta.fields]


@admin.register(PayoutAccount)
class PayoutAccountAdmin(admin.ModelAdmin):
    list_display = [
        "seller",
        "stripe_account_id",
        "details_submitted",
        "payouts_enabled",
        "updated_at",
    ]


@admin.register(SellerTransfer)
class SellerTransferAdmin(admin.ModelAdmin):
    list_display = ["seller", "amount", "currency", "stripe_transfer_id", "created_at"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    list_display = ["seller", "kind", "amount", "currency", "transfer", "created_at"]
    list_filter = ["kind"]
