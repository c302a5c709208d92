"""Settings for the test suite: the production settings with test-only overrides.

The database still comes from DATABASE_URL, so the same suite runs on SQLite
(the default) and PostgreSQL.
"""

import os
import tempfile
from pathlib import Path

# The production settings refuse to load without a key; give them a test one.
os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")

from shop.settings import *  # noqa: F403
from shop.settings import STORAGES

SECRET_KEY = "tests-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
PAYMENT_PROVIDER = "test"
TEST_PAYMENTS_ENABLED = True
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
SITE_URL = "http://testserver"
# Each view written after its page, as tests read it at once (tests/stats test the batches).
STATS_VIEW_BATCH = 1
STORE_CURRENCY = "EUR"
DELIVERY_BACKEND = "stream"

MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="echoppe-test-media-"))
STORAGES = {
    **STORAGES,
    "default": {
        "BACKEND": "catalog.storage.PrivateFileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT / "private")},
    },
    "public": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT / "public"), "base_url": "/media/"},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STORAGE = "local"
# Static files come straight from the apps (no collectstatic before tests).
STATIC_ROOT = MEDIA_ROOT / "static"
STATIC_ROOT.mkdir()
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# pytest captures log records itself; a console handler would hold on to the
# stderr of the moment Django started and fail once pytest swaps it.
LOGGING = {"version": 1, "disable_existing_loggers": False}
# The suite counts limits in this process whatever CACHE_URL says; only the
# cross-process test talks to Redis, by its own settings.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# The webhook tests run a real receiver on 127.0.0.1 over plain http; production refuses both.
WEBHOOKS_ALLOW_PRIVATE = True
WEBHOOKS_ALLOW_HTTP = True
