from django.urls import path

from shop.webhooks_out import views

app_name = "webhooks_out"

urlpatterns = [
    path("sell/webhooks/", views.endpoints, name="endpoints"),
    path("sell/webhooks/<int:endpoint>/", views.endpoint, name="endpoint"),
    path("sell/webhooks/<int:endpoint>/enabled/", views.endpoint_enabled, name="enabled"),
    path("sell/webhooks/<int:endpoint>/roll/", views.endpoint_roll, name="roll"),
    path("sell/webhooks/<int:endpoint>/test/", views.endpoint_test, name="test"),
    path("sell/webhooks/<int:endpoint>/delete/", views.endpoint_delete, name="delete"),
    path("sell/webhooks/deliveries/<int:delivery>/replay/", views.delivery_replay, name="replay"),
]
