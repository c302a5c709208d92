from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

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
        "platform_fee",
        "refunded_amount",
        "entitlement",
    ]
    exclude = ["discount_code"]
    can_delete = False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "public_id",
        "buyer_email",
        "status",
        "total",
        "currency",
        "flagged",
        "flag_reason",
        "created_at",
    ]
    list_filter = ["status", "provider", "flagged"]
    search_fields = ["public_id", "buyer_email", "provider_session_id", "provider_payment_id"]
    readonly_fields = [f.name for f in Order._meta.fields]
    inlines = [OrderItemInline]
    actions = ["refund_in_full"]

    @admin.action(description="Refund what is left of the selected orders (revokes access)")
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
                        reason="Refunded by the shop.",
                        by=request.user,  # type: ignore[arg-type]
                    )
                    done += 1
                except RefundError as exc:
                    self.message_user(request, f"{order.public_id}: {exc}", messages.ERROR)
        self.message_user(request, f"{done} item(s) refunded.", messages.SUCCESS)


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
