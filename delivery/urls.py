from django.urls import path

from delivery import claims, views
from delivery.formats import seller as formats_seller

app_name = "delivery"

urlpatterns = [
    # First: every byte of a paid file is asked for here.
    path("download/<str:signed>/", views.download, name="download"),
    path("library/", views.library_account, name="library_account"),
    path("library/lost/", views.library_request, name="library_request"),
    path("accounts/signup/", claims.signup, name="signup"),
    path("library/claim/", claims.claim_start, name="claim_start"),
    path("library/claim/<str:token>/", claims.claim_finish, name="claim_finish"),
    path(
        "library/files/<int:entitlement>/<int:asset>/",
        views.account_file_get,
        name="account_file",
    ),
    path("library/all/<int:entitlement>/", views.account_bundle_get, name="account_bundle"),
    path("library/<str:token>/", views.library, name="library"),
    path("library/<str:token>/all/<int:entitlement>/", views.bundle_get, name="bundle"),
    path(
        "library/<str:token>/files/<int:entitlement>/<int:asset>/",
        views.file_get,
        name="file",
    ),
    path("download/zip/<str:signed>/", views.download_zip, name="download_zip"),
    path("play/<str:signed>/", views.stream, name="stream"),
    path("read/<str:signed>/", views.read, name="read"),
    path("read/<str:signed>/images/<path:path>", views.read_image, name="read_image"),
    path("sell/delivery/", formats_seller.delivery_settings, name="sell_delivery"),
    path(
        "sell/delivery/<int:product_id>/",
        formats_seller.product_delivery,
        name="sell_product_delivery",
    ),
    path(
        "sell/delivery/<int:product_id>/buyers/<int:entitlement_id>/reset/",
        formats_seller.buyer_downloads_reset,
        name="sell_buyer_downloads_reset",
    ),
    path(
        "sell/delivery/<int:product_id>/notify/",
        formats_seller.buyers_notify_update,
        name="sell_buyers_notify_update",
    ),
]
