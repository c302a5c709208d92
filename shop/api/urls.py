from django.urls import path

from shop.api import views

app_name = "api"

urlpatterns = [
    path("sell/api/", views.tokens, name="tokens"),
    path("sell/api/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
]
