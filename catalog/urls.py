from django.urls import path

from catalog import views, views_sell
from catalog.uploads import views as upload_views

app_name = "catalog"

urlpatterns = [
    path("", views.home, name="home"),
    path("@<slug:seller>/", views.seller, name="seller"),
    path("@<slug:seller>/<slug:product>/", views.product, name="product"),
    # The seller's side.
    path("sell/", views_sell.dashboard, name="sell_dashboard"),
    path("sell/signup/", views_sell.signup, name="sell_signup"),
    path("sell/start/", views_sell.start, name="sell_start"),
    path("sell/verify/resend/", views_sell.verify_resend, name="sell_verify_resend"),
    path("sell/verify/<str:token>/", views_sell.verify, name="sell_verify"),
    path("sell/profile/", views_sell.profile, name="sell_profile"),
    path("sell/products/new/", views_sell.product_new, name="sell_product_new"),
    path("sell/products/<int:product_id>/", views_sell.product_edit, name="sell_product"),
    path("sell/products/<int:product_id>/files/", views_sell.product_files, name="sell_files"),
    path(
        "sell/products/<int:product_id>/status/",
        views_sell.product_status,
        name="sell_product_status",
    ),
    path(
        "sell/products/<int:product_id>/delete/",
        views_sell.product_delete,
        name="sell_product_delete",
    ),
    path("sell/files/<int:asset_id>/move/", views_sell.asset_move, name="sell_asset_move"),
    path("sell/files/<int:asset_id>/delete/", views_sell.asset_delete, name="sell_asset_delete"),
    path("sell/imports/", views_sell.imports_page, name="sell_imports"),
    path("sell/imports/<int:job_id>/", views_sell.import_detail, name="sell_import"),
    path(
        "sell/imports/<int:job_id>/progress/",
        views_sell.import_progress,
        name="sell_import_progress",
    ),
    path("sell/uploads/", upload_views.upload_create, name="sell_upload_create"),
    path("sell/uploads/<str:upload_id>/", upload_views.upload_detail, name="sell_upload"),
    path(
        "sell/uploads/<str:upload_id>/parts/", upload_views.upload_parts, name="sell_upload_parts"
    ),
    path(
        "sell/uploads/<str:upload_id>/finish/",
        upload_views.upload_finish,
        name="sell_upload_finish",
    ),
]
