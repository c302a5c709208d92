"""Root URLs."""

from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from django.views.static import serve

from catalog import views_accounts
from catalog.accounts import QueuedPasswordResetForm
from catalog.headers import bearer_token_page
from shop import i18n

# The admin's login counts attempts like the site's own.
admin.site.login_form = views_accounts.LimitedAdminAuthenticationForm

# Error pages that must not depend on what failed render from settings alone (shop/errors.py).
handler400 = "shop.errors.bad_request"
handler500 = "shop.errors.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    # The language switcher's form (a POST; the cookie it sets outlives the session).
    path("i18n/setlang/", i18n.set_language, name="set_language"),
]

# Every page a person opens exists in each language: English where it always was,
# French under /fr/ (shop/i18n.py decides which one a visitor gets).
urlpatterns += i18n_patterns(
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
    path("", include("shop.shop_urls")),
    path("", include("shop.stats.urls")),
    path("", include("delivery.urls")),
    path("", include("catalog.urls")),
    prefix_default_language=False,
)

if settings.STORAGE == "local":
    # Only the public storage has a URL; paid files live beside it, unreachable.
    urlpatterns.insert(
        0,
        path(
            f"{settings.MEDIA_URL.strip('/')}/<path:path>",
            serve,
            {"document_root": settings.MEDIA_ROOT / "public"},
            name="public_media",
        ),
    )
