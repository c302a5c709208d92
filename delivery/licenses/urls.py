from django.urls import path

from delivery.licenses import views

app_name = "licenses"

urlpatterns = [
    path("sell/licenses/", views.licenses, name="sell_licenses"),
    path("sell/licenses/<int:license_id>/", views.license_detail, name="sell_license"),
    path(
        "sell/licenses/<int:license_id>/<slug:action>/",
        views.license_action,
        name="sell_license_action",
    ),
]
