from django.urls import path, re_path

from catalog.discovery import views

app_name = "discovery"

urlpatterns = [
    path("search/", views.search, name="search"),
    path("tags/<str:tag>/", views.tag, name="tag"),
    re_path(rf"^(?P<kind>{'|'.join(views.KIND_PATHS)})/$", views.kind, name="kind"),
]
