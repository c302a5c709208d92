"""The dashboard's pages: a seller's, one product's, the whole shop's (staff).

Included by the root URLconf; the paths sit beside the seller's other pages
(``/sell/...``) and the staff's (``/staff/...``).
"""

from django.urls import path

from shop.stats import views

app_name = "stats"

urlpatterns = [
    path("sell/stats/", views.seller_dashboard, name="dashboard"),
    path("sell/stats/<str:kind>.csv", views.seller_export, name="dashboard_export"),
    path(
        "sell/stats/products/<int:product_id>/",
        views.product_dashboard,
        name="dashboard_product",
    ),
    path(
        "sell/stats/products/<int:product_id>/<str:kind>.csv",
        views.product_export,
        name="dashboard_product_export",
    ),
    path("staff/stats/", views.shop_dashboard, name="dashboard_shop"),
    path("staff/stats/<str:kind>.csv", views.shop_export, name="dashboard_shop_export"),
]
