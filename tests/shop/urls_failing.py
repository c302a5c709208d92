"""The shop's URLs plus views that fail, to reach the error pages through the whole stack."""

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.urls import path

from shop.urls import handler400, handler500
from shop.urls import urlpatterns as shop_urlpatterns


def _boom(request):
    raise RuntimeError("a bug")


def _denied(request):
    raise PermissionDenied


def _suspicious(request):
    raise SuspiciousOperation("forged")


urlpatterns = [
    path("boom/", _boom),
    path("denied/", _denied),
    path("suspicious/", _suspicious),
    *shop_urlpatterns,
]

__all__ = ["handler400", "handler500", "urlpatterns"]
