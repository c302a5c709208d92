"""Root URLs."""

from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import include, path, re_path
from django.views.i18n import JavaScriptCatalog
from django.views.static import serve

from catalog import views_accounts
from catalog.accounts import QueuedPasswordResetForm
from catalog.headers import bearer_token_page
from catalog.storage import IMMUTABLE_CACHE_CONTROL, IMMUTABLE_PUBLIC
from shop import health, i18n
from shop.api import api as seller_api

# The admin's login counts attempts like the site's own.
admin.site.login_form = views_accounts.LimitedAdminAuthenticationForm

# Error pages that must not depend on what failed render from settings alone (shop/errors.py).
handler400 = "shop.errors.bad_request"
handler500 = "shop.errors.server_error"


def public_media(request: HttpRequest, path: str, document_root: str) -> HttpResponseBase:
    """The public storage on this site (STORAGE=local), covers cached for a year."""
    response = serve(request, path, document_root=document_root)
    if IMMUTABLE_PUBLIC.match(path) and response.status_code == 200:
        response["Cache-Control"] = IMMUTABLE_CACHE_CONTROL
    return response


urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # Before the admin's own URLs: the same view, answering 429 while paused.
    path("admin/login/", views_accounts.admin_login),
    path("admin/", admin.site.urls),
    # The language switcher's form (a POST; the cookie it sets outlives the session).
    path("i18n/setlang/", i18n.set_language, name="set_language"),
    # The seller API: one address for every language, versioned; JSON even when lost.
    path("api/v1/", include(seller_api.urlpatterns())),
    re_path(r"^api/(?P<rest>.*)$", seller_api.not_found),
]

# Every page a person opens exists in each language: English where it always was,
# French under /fr/ (shop/i18n.py decides which one a visitor gets).
urlpatterns += i18n_patterns(
    # Delivery first: a download, the hottest route, resolves without walking the others.
    path("", include("delivery.urls")),
    # Then the storefront's pages (no path of theirs is one of the others').
    path("", include("catalog.discovery.urls")),
    path("", include("catalog.urls")),
    # The strings of the uploader and the import progress, as a same-origin script.
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript_catalog"),
    # A claim link followed while logged out comes back here in ?next=.
    path(
        "accounts/login/",
        bearer_token_page(views_accounts.LoginView.as_view()),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Forgotten passwords: Django's own views, with the templates in shop/templates/registration/.
    path(
        "accounts/password/reset/",
        # Counted by the limiter; the mail is a task (a mail server down never answers 500).
        views_accounts.PasswordResetView.as_view(form_class=QueuedPasswordResetForm),
        name="password_reset",
    ),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        bearer_token_page(auth_views.PasswordResetConfirmView.as_view()),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("", include("delivery.licenses.urls")),
    path("", include("shop.shop_urls")),
    path("", include("shop.funding.urls")),
    path("", include("shop.stats.urls")),
    path("", include("shop.api.urls")),
    path("", include("shop.webhooks_out.urls")),
    path("", include("catalog.seo.urls")),
    path("", include("catalog.follows.urls")),
    prefix_default_language=False,
)

if settings.STORAGE == "local":
    # Only the public storage has a URL; paid files live beside it, unreachable.
    urlpatterns.insert(
        0,
        path(
            f"{settings.MEDIA_URL.strip('/')}/<path:path>",
            public_media,
            {"document_root": settings.MEDIA_ROOT / "public"},
            name="public_media",
        ),
    )
