from django.urls import path

from shop import views, views_sell

app_name = "shop"

urlpatterns = [
    path("checkout/<int:product_id>/", views.checkout, name="checkout"),
    path("checkout/return/", views.stripe_return, name="stripe_return"),
    path("cart/", views.cart, name="cart"),
    path("cart/add/<int:product_id>/", views.cart_add, name="cart_add"),
    path("cart/remove/<int:product_id>/", views.cart_remove, name="cart_remove"),
    path("pay/test/<uuid:order>/", views.test_pay, name="test_pay"),
    path("stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
    path("orders/<uuid:order>/", views.receipt, name="receipt"),
    path("orders/<uuid:order>/retry/", views.retry, name="order_retry"),
    path("orders/<uuid:order>/invoice/", views.invoice, name="invoice"),
    path("orders/<uuid:order>/invoice.pdf", views.invoice, {"pdf": True}, name="invoice_pdf"),
    path(
        "orders/<uuid:order>/files/<int:entitlement>/<int:asset>/",
        views.receipt_file,
        name="receipt_file",
    ),
    path("staff/vat/", views.vat_report, name="vat_report"),
    path("sell/sales/", views_sell.sales, name="sell_sales"),
    path("sell/sales/<int:item>/refund/", views_sell.refund, name="sell_refund"),
    path("sell/sales/<int:item>/invoice/", views_sell.sale_invoice, name="sell_invoice"),
    path(
        "sell/sales/<int:item>/invoice.pdf",
        views_sell.sale_invoice,
        {"pdf": True},
        name="sell_invoice_pdf",
    ),
    path("sell/codes/", views_sell.codes, name="sell_codes"),
    path("sell/codes/<int:code>/active/", views_sell.code_active, name="sell_code_active"),
    path("sell/payouts/", views_sell.payouts, name="sell_payouts"),
    path("sell/payouts/connect/", views_sell.payouts_connect, name="sell_payouts_connect"),
    path("sell/payouts/return/", views_sell.payouts_return, name="sell_payouts_return"),
]
