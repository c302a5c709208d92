from django.urls import path

from catalog import views

app_name = "catalog"

urlpatterns = [
    path("", views.home, name="home"),
    path("@<slug:seller>/", views.seller, name="seller"),
    path("@<slug:seller>/<slug:product>/", views.product, name="product"),
]
