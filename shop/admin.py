from django.contrib import admin

from shop.models import Order, OrderItem, PaymentEvent


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    readonly_fields = ["product", "seller", "title", "unit_price", "platform_fee", "entitlement"]
    can_delete = False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["public_id", "buyer_email", "status", "total", "currency", "created_at"]
    list_filter = ["status", "provider"]
    search_fields = ["public_id", "buyer_email", "provider_session_id", "provider_payment_id"]
    readonly_fields = [f.name for f in Order._meta.fields]
    inlines = [OrderItemInline]


@admin.register(PaymentEvent)
class PaymentEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "provider", "type", "received_at"]
    search_fields = ["event_id"]
