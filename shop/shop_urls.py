from django.urls import path

from shop import views

app_name = "shop"

urlpatterns = [
    path("checkout/<int:product_id>/", views.checkout, name="checkout"),
    path("pay/test/<uuid:order>/", views.test_pay, name="test_pay"),
    path("orders/<uuid:order>/", views.receipt, name="receipt"),
    path("orders/<uuid:order>/library/", views.receipt_library, name="receipt_library"),
]
