from django.urls import path

from catalog.follows import views

app_name = "follows"

urlpatterns = [
    path("follow/@<slug:seller>/", views.follow, name="follow"),
    path("follow/confirm/<str:token>/", views.confirm, name="confirm"),
    path("follow/leave/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
