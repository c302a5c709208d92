"""Échoppe settings: the only module that reads the environment.

Every variable is listed, with its meaning, in ``.env.example``. The defaults
give the embedded setup: SQLite in WAL mode, files on the local disk under
``media/``, emails on the console, the ``stream`` delivery backend and the
test-mode payment provider.
"""

from __future__ import annotations

import os
import re
import zoneinfo
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


_RATE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def env_rate(name: str, default: str) -> tuple[int, int]:
    """A limit written ``COUNT/PERIOD`` (``10/15m``, ``5/1h``, ``100/1d``): (count, seconds)."""
    raw = os.environ.get(name, default).strip().lower()
    count, _, period = raw.partition("/")
    number, unit = period[:-1], period[-1:]
    if not (count.isascii() and count.isdigit() and number.isascii() and number.isdigit()):
        number = ""
    if not number or unit not in _RATE_UNITS or int(number) == 0 or len(raw) > 20:
        raise ImproperlyConfigured(
            f"{name} must be a count per period like 10/15m (s, m, h or d), not {raw!r}"
        )
    return int(count), int(number) * _RATE_UNITS[unit]


def env_url(name: str) -> str:
    """An address for a link (https://..., http://... or a path on this site), or ""."""
    value = os.environ.get(name, "").strip()
    if value and not (
        value.startswith(("https://", "http://"))
        or (value.startswith("/") and not value.startswith("//"))
    ):
        raise ImproperlyConfigured(
            f"{name} must start with https://, http:// or / (a page of this site); got {value!r}"
        )
    return value


def env_email(name: str) -> str:
    """An email address, or ""."""
    value = os.environ.get(name, "").strip()
    if value and not re.fullmatch(r"[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+", value):
        raise ImproperlyConfigured(
            f"{name} must be an email address like help@example.com; got {value!r}"
        )
    return value


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


# --- Core -------------------------------------------------------------------

DEBUG = env_bool("DEBUG", False)
_DEV_SECRET = "dev-only-insecure-key-never-use-in-production"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is empty: set it to a long random string (or DEBUG=true for a local demo)."
    )
# Rotating SECRET_KEY keeps old signed links working while the old key is listed here.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")
SITE_URL = env_str("SITE_URL").strip().rstrip("/")
# Whether the operator chose SITE_URL; when not, `demo --serve ADDRESS` links to ADDRESS.
SITE_URL_EXPLICIT = bool(SITE_URL)
SITE_URL = SITE_URL or "http://127.0.0.1:8000"
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Its templates: the sitemap index and sections (catalog.seo).
    "django.contrib.sitemaps",
    "django_tasks",
    "django_tasks_db",
    "catalog",
    # Sitemaps, robots.txt, structured data, feeds, embeds (reads the catalog only).
    "catalog.seo",
    # Following creators: double opt-in, new-release mails, one-click unsubscribe.
    "catalog.follows",
    # Search and the listings (home, tags, kinds, sellers): reads the catalog only.
    "catalog.discovery",
    # Durable background work: rows written with the change, finished by tasks and the clock.
    "catalog.outbox",
    "delivery",
    "delivery.formats",
    # License keys sold with software: minted on payment, checked through the API.
    "delivery.licenses",
    "shop",
    # Fan-funded releases (pledges charged at the deadline, all or nothing).
    "shop.funding",
    "shop.stats",
    # Outgoing webhooks: a seller's endpoints, signed deliveries of their events, retried.
    "shop.webhooks_out",
    # The seller API (/api/v1/) and its tokens page; "ninja" serves the docs page's own files.
    "ninja",
    "shop.api",
    # Demo data (`manage.py demo`), on top of every app; nothing imports it.
    "shop.demo",
]

MIDDLEWARE = [
    # First: refuses an oversized body (413) before anything below can parse it.
    "catalog.request_size.RequestSizeMiddleware",
    # Every log line of the request carries its id (X-Request-ID, or one made here).
    "catalog.requestid.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy and Permissions-Policy on every response.
    "catalog.headers.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: from the URL on the storefront (/fr/...), else the switcher's cookie,
    # else Accept-Language (shop/i18n.py). After sessions, before CommonMiddleware.
    "shop.i18n.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A view whose database connection was cut runs once more when that is safe.
    "catalog.dbretry.RetryOnDisconnectMiddleware",
    # Counts product page views for the sales dashboard, after the response is sent.
    "shop.stats.recording.ProductViewMiddleware",
]

ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"
ASGI_APPLICATION = "shop.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "shop" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shop.context_processors.storefront",
                "catalog.seo.context_processors.seo",
                "shop.i18n.languages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
        # A kept connection is checked before each request uses it: one cut by a database
        # restart or a proxy is replaced instead of failing the request. Requests that
        # may run twice skip the check and run again instead (catalog/dbretry.py).
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers work while one writer commits; IMMEDIATE takes the write
    # lock at BEGIN so two writers queue on busy_timeout instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
# Log in with the account's email (sellers) or its username (older accounts).
AUTHENTICATION_BACKENDS = ["catalog.accounts.EmailOrUsernameBackend"]
# How long the link in a seller's email-verification message works.
EMAIL_VERIFY_MAX_AGE = env_int("EMAIL_VERIFY_MAX_AGE", 3 * 24 * 3600)
LOGIN_REDIRECT_URL = "delivery:library_account"
LOGOUT_REDIRECT_URL = "catalog:home"

# --- Internationalisation ---------------------------------------------------

LANGUAGE_CODE = "en"
# The interface languages. English is the default and the fallback of every string.
LANGUAGES = [("en", "English"), ("fr", "Français")]
# One catalogue for every app, inside a package so a wheel ships it (shop/locale/,
# .po and the compiled .mo): `python manage.py translations --refresh` rebuilds it.
LOCALE_PATHS = [BASE_DIR / "shop" / "locale"]
LANGUAGE_COOKIE_NAME = "echoppe_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Files ------------------------------------------------------------------
#
# Two storages: "default" holds what buyers pay for and has no URL at all;
# "public" holds covers and previews and is served under MEDIA_URL.

STORAGE = env_choice("STORAGE", "local", ("local", "s3"))
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = env_str("MEDIA_URL", "/media/")
# A CDN in front of the shop: STATIC_URL=https://cdn.example.com/static/ (hashed names,
# cached for a year by whitenoise or the CDN) and MEDIA_URL (or S3_PUBLIC_DOMAIN) for covers.
STATIC_URL = env_str("STATIC_URL", "/static/")
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))


def s3_storages(
    *,
    access_key: str,
    secret_key: str,
    endpoint_url: str | None,
    private_bucket: str,
    public_bucket: str,
    region: str = "us-east-1",
    addressing_style: str = "path",
    presign_seconds: int = 60,
    public_domain: str | None = None,
) -> dict[str, dict[str, Any]]:
    """The "default" (private) and "public" STORAGES entries for an S3-compatible service.

    A function, not inline dicts, so the test suite points exactly these
    options at its own SeaweedFS server.
    """
    common = {
        "access_key": access_key,
        "secret_key": secret_key,
        "endpoint_url": endpoint_url,
        "region_name": region,
        # Presigned URLs must be SigV4 (SigV2 is gone from AWS and most clones).
        "signature_version": "s3v4",
        "addressing_style": addressing_style,
        "file_overwrite": False,
        # Reading an object spools it here; past this it goes to a temporary
        # file. django-storages' default (0) keeps a whole 20 GB video in memory.
        "max_memory_size": 2 * 1024 * 1024,
    }
    return {
        "default": {
            "BACKEND": "catalog.storage_s3.PrivateS3Storage",
            "OPTIONS": {
                **common,
                "bucket_name": private_bucket,
                "default_acl": "private",
                "querystring_auth": True,
                "querystring_expire": presign_seconds,
            },
        },
        "public": {
            "BACKEND": "catalog.storage_s3.PublicS3Storage",
            "OPTIONS": {
                **common,
                "bucket_name": public_bucket,
                "querystring_auth": False,
                "custom_domain": public_domain,
            },
        },
    }


if STORAGE == "local":
    _private_storage = {
        # Its url() raises: no template can ever produce a link to a paid file.
        "BACKEND": "catalog.storage.PrivateFileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT / "private")},
    }
    _public_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT / "public"), "base_url": MEDIA_URL},
    }
else:
    _s3 = s3_storages(
        access_key=env_str("S3_ACCESS_KEY_ID"),
        secret_key=env_str("S3_SECRET_ACCESS_KEY"),
        endpoint_url=env_str("S3_ENDPOINT_URL") or None,
        private_bucket=env_str("S3_PRIVATE_BUCKET"),
        public_bucket=env_str("S3_PUBLIC_BUCKET"),
        region=env_str("S3_REGION", "us-east-1"),
        addressing_style=env_str("S3_ADDRESSING_STYLE", "path"),
        presign_seconds=env_int("S3_PRESIGN_SECONDS", 60),
        public_domain=env_str("S3_PUBLIC_DOMAIN") or None,
    )
    _private_storage, _public_storage = _s3["default"], _s3["public"]

STORAGES = {
    "default": _private_storage,
    "public": _public_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Sellers' resumable uploads (catalog/uploads/): the largest file accepted,
# how long an unfinished upload may wait for its next byte, and the lifetime
# of each presigned part URL handed to the browser (STORAGE=s3).
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 20 * 1024**3)
UPLOAD_EXPIRY_HOURS = env_int("UPLOAD_EXPIRY_HOURS", 48)
UPLOAD_PRESIGN_SECONDS = env_int("UPLOAD_PRESIGN_SECONDS", 3600)
# Per-seller storage quotas (catalog/quotas.py): bytes of files plus the bytes
# announced by open uploads, and how many uploads may be open at once; smaller
# until the seller's email address is confirmed.
SELLER_QUOTA_BYTES = env_int("SELLER_QUOTA_BYTES", 50 * 1000**3)
SELLER_QUOTA_OPEN_UPLOADS = env_int("SELLER_QUOTA_OPEN_UPLOADS", 3)
SELLER_QUOTA_UNVERIFIED_BYTES = env_int("SELLER_QUOTA_UNVERIFIED_BYTES", 500 * 1000**2)
SELLER_QUOTA_UNVERIFIED_OPEN_UPLOADS = env_int("SELLER_QUOTA_UNVERIFIED_OPEN_UPLOADS", 1)
# Request bodies (catalog/request_size.py), refused with 413 before anything
# parses them: every route takes REQUEST_MAX_BYTES, the forms with an image
# (product cover, profile picture) REQUEST_MAX_BYTES_IMAGES; the upload routes
# declare their own limits, for signed-in users only.
REQUEST_MAX_BYTES = env_int("REQUEST_MAX_BYTES", 1024**2)
REQUEST_MAX_BYTES_IMAGES = env_int("REQUEST_MAX_BYTES_IMAGES", 10 * 1024**2)
# Catalog imports: the most members (files and folders) a ZIP may hold.
IMPORT_ZIP_MAX_MEMBERS = env_int("IMPORT_ZIP_MAX_MEMBERS", 2000)
# Large uploads go to a temporary file, never into memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Email ------------------------------------------------------------------


def _email_settings(url: str) -> dict[str, object]:
    """Turn EMAIL_URL (console://, smtp://user:pass@host:587?tls=1, smtps://...) into settings."""
    if not url or url.startswith("console:"):
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if url.startswith("locmem:"):
        return {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ImproperlyConfigured(
            f"EMAIL_URL must start with console://, smtp:// or smtps://: {url!r}"
        )
    query = parse_qs(parts.query)
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname or "localhost",
        "EMAIL_PORT": parts.port or (465 if parts.scheme == "smtps" else 25),
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_SSL": parts.scheme == "smtps",
        "EMAIL_USE_TLS": query.get("tls", ["0"])[0].lower() in _TRUE,
        "EMAIL_TIMEOUT": 20,
    }


globals().update(_email_settings(env_str("EMAIL_URL", "console://")))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Échoppe <shop@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Cache and limits -------------------------------------------------------


def cache_settings(url: str) -> dict[str, dict[str, Any]]:
    """Turn CACHE_URL (locmem://, redis://host:6379/0, rediss://...) into CACHES.

    The limits (catalog/limits.py) count in this cache: with several web
    processes it must be one they share, i.e. Redis.
    """
    if not url or url.startswith("locmem:"):
        # Django's default of 300 entries would not hold one listing's worth of cached
        # product cards at catalog scale (decision 90); a card is about 1 KiB.
        return {
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "OPTIONS": {"MAX_ENTRIES": env_int("CACHE_MAX_ENTRIES", 20000)},
            }
        }
    scheme = urlsplit(url).scheme
    if scheme not in ("redis", "rediss", "unix"):
        raise ImproperlyConfigured(
            f"CACHE_URL must start with locmem://, redis://, rediss:// or unix://: {url!r}"
        )
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "echoppe"),
        }
    }


CACHES = cache_settings(env_str("CACHE_URL", "locmem://"))
# Limits, as COUNT/PERIOD (s, m, h, d), counted in fixed windows in the cache.
# Sign-in attempts per identifier typed (known or not) and per client address.
LIMIT_LOGIN_ACCOUNT = env_rate("LIMIT_LOGIN_ACCOUNT", "10/15m")
LIMIT_LOGIN_CLIENT = env_rate("LIMIT_LOGIN_CLIENT", "30/15m")
# Discount codes typed at checkout, per client address.
LIMIT_DISCOUNT_CODE = env_rate("LIMIT_DISCOUNT_CODE", "20/1h")
# Mails a person can trigger (reset, verification, library link, claim, sign-up,
# free receipts): per recipient address, and per sender (client address, account).
LIMIT_MAIL_RECIPIENT = env_rate("LIMIT_MAIL_RECIPIENT", "5/1h")
LIMIT_MAIL_SENDER = env_rate("LIMIT_MAIL_SENDER", "10/1h")
# Requests to follow a creator, per client address (the confirmation mail also counts above).
LIMIT_FOLLOW = env_rate("LIMIT_FOLLOW", "20/1h")
# Seller API requests per token (shop/api).
LIMIT_API_TOKEN = env_rate("LIMIT_API_TOKEN", "120/1m")

# --- Background tasks -------------------------------------------------------

_TASKS_BACKEND = env_choice("TASKS_BACKEND", "immediate", ("immediate", "database", "rq"))
TASKS = {
    "default": {
        "BACKEND": {
            "immediate": "django_tasks.backends.immediate.ImmediateBackend",
            "database": "django_tasks_db.DatabaseBackend",
            # Scale-out: RQ on Redis (TASKS_REDIS_URL, else CACHE_URL's server), `manage.py
            # rqworker --job-class django_tasks_rq.Job --with-scheduler`.
            "rq": "django_tasks_rq.RQBackend",
        }[_TASKS_BACKEND]
    }
}
if _TASKS_BACKEND == "rq":
    INSTALLED_APPS.append("django_rq")
    _rq_url = env_str("TASKS_REDIS_URL") or env_str("CACHE_URL")
    if not _rq_url.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(
            "TASKS_BACKEND=rq needs a Redis server: set TASKS_REDIS_URL (or CACHE_URL) "
            "to redis://host:6379/N."
        )
    RQ_QUEUES = {"default": {"URL": _rq_url, "DEFAULT_TIMEOUT": env_int("TASKS_TIMEOUT", 3600)}}
# Durable work (catalog/outbox): how long a run may hold its row before the clock
# takes it as dead (longer than any run), retries doubling from the base up to the
# ceiling, how many attempts before staff must look (the admin lists failed rows).
OUTBOX_LEASE_SECONDS = env_int("OUTBOX_LEASE_SECONDS", 600)
OUTBOX_RETRY_BASE_SECONDS = env_int("OUTBOX_RETRY_BASE_SECONDS", 30)
OUTBOX_RETRY_MAX_SECONDS = env_int("OUTBOX_RETRY_MAX_SECONDS", 6 * 3600)
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 10)
# A database task RUNNING for longer than this lost its worker: the clock queues it again.
TASKS_STALE_SECONDS = env_int("TASKS_STALE_SECONDS", 6 * 3600)
# `manage.py clock`: how often it sweeps the outbox, and rolls up the dashboard.
CLOCK_SWEEP_SECONDS = env_int("CLOCK_SWEEP_SECONDS", 30)
CLOCK_ROLLUP_SECONDS = env_int("CLOCK_ROLLUP_SECONDS", 3600)
# Fan-funding settlement (campaigns past their deadline, payments due, releases).
CLOCK_FUNDING_SECONDS = env_int("CLOCK_FUNDING_SECONDS", 300)
# Outgoing webhooks (shop/webhooks_out): an endpoint failing without a success this long
# is turned off and its seller mailed; a rolled secret keeps signing this long beside the
# new one; a sender holds a delivery this long before a sweep takes it as dead.
WEBHOOKS_DISABLE_AFTER_SECONDS = env_int("WEBHOOKS_DISABLE_AFTER_SECONDS", 3 * 24 * 3600)
WEBHOOKS_SECRET_OVERLAP_SECONDS = env_int("WEBHOOKS_SECRET_OVERLAP_SECONDS", 24 * 3600)
WEBHOOKS_LEASE_SECONDS = env_int("WEBHOOKS_LEASE_SECONDS", 60)
# Never from the environment: only the test settings let deliveries reach loopback,
# private addresses or plain http (server-side request forgery, shop/webhooks_out/sender.py).
WEBHOOKS_ALLOW_PRIVATE = False
WEBHOOKS_ALLOW_HTTP = False

# --- Commerce ---------------------------------------------------------------

STORE_NAME = env_str("STORE_NAME", "Échoppe")
# Sitemaps and Atom feeds are built once per address for this long, in the shared cache
# (0: built on every request). Crawlers and feed readers come back hours later anyway.
SITEMAP_CACHE_SECONDS = env_int("SITEMAP_CACHE_SECONDS", 3600)
FEED_CACHE_SECONDS = env_int("FEED_CACHE_SECONDS", 600)
# Product page views are written in batches of this many per process, or after this many
# seconds, whichever comes first (1: each view written after its page, decision 106).
STATS_VIEW_BATCH = env_int("STATS_VIEW_BATCH", 50)
STATS_VIEW_FLUSH_SECONDS = env_int("STATS_VIEW_FLUSH_SECONDS", 2)
# The operator's own pages, linked from every page's footer when set.
SITE_CONTACT_EMAIL = env_email("SITE_CONTACT_EMAIL")
SITE_CONTACT_URL = env_url("SITE_CONTACT_URL")
SITE_TERMS_URL = env_url("SITE_TERMS_URL")
SITE_REFUND_POLICY_URL = env_url("SITE_REFUND_POLICY_URL")
STORE_CURRENCY = env_str("STORE_CURRENCY", "EUR").upper()
# Platform fee per order item: basis points of the price, plus a fixed amount in minor units.
PLATFORM_FEE_BASIS_POINTS = env_int("PLATFORM_FEE_BASIS_POINTS", 500)
PLATFORM_FEE_FIXED = env_int("PLATFORM_FEE_FIXED", 0)
# The largest amount (and order total) anyone may type or pay, in minor units: what
# the payment provider can charge (Stripe: 99,999,999 in most currencies).
AMOUNT_MAX_MINOR = env_int("AMOUNT_MAX_MINOR", 99_999_999)
PAYMENT_PROVIDER = env_choice("PAYMENT_PROVIDER", "test", ("test", "stripe"))
# The test-mode provider takes no money; off DEBUG it must be switched on by hand.
TEST_PAYMENTS_ENABLED = env_bool("TEST_PAYMENTS_ENABLED", DEBUG)
# Fan funding: days a backer whose card failed at the deadline has to pay on session.
FUNDING_GRACE_DAYS = env_int("FUNDING_GRACE_DAYS", 7)
# Updates a seller may mail to a campaign's backers.
LIMIT_FUNDING_UPDATES = env_rate("LIMIT_FUNDING_UPDATES", "3/1d")
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_PUBLISHABLE_KEY = env_str("STRIPE_PUBLISHABLE_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
# Let Stripe Tax compute and add tax at checkout (needs Stripe Tax set up on the account).
STRIPE_AUTOMATIC_TAX = env_bool("STRIPE_AUTOMATIC_TAX", False)
# The calendar the OSS VAT report's quarters follow (shop/oss.py): the operator's own.
VAT_REPORT_TIME_ZONE = env_str("VAT_REPORT_TIME_ZONE") or TIME_ZONE
try:
    zoneinfo.ZoneInfo(VAT_REPORT_TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(
        "VAT_REPORT_TIME_ZONE must be a time zone such as Europe/Paris, "
        f"not {VAT_REPORT_TIME_ZONE!r}"
    ) from None
# The platform sells (separate charges and transfers make it the seller of record):
# its legal details head every invoice (shop/invoices.py).
PLATFORM_LEGAL_NAME = env_str("PLATFORM_LEGAL_NAME", STORE_NAME)
PLATFORM_LEGAL_ADDRESS = env_str("PLATFORM_LEGAL_ADDRESS").replace("\\n", "\n")
PLATFORM_VAT_NUMBER = env_str("PLATFORM_VAT_NUMBER")
# Invoice numbers: this prefix, then the shop's sequence without gaps (000001, 000002...).
INVOICE_PREFIX = env_str("INVOICE_PREFIX", "INV-")
# A TrueType font with €, « » and narrow no-break spaces for the PDF (Debian: fonts-dejavu-core).
INVOICE_FONT = env_str("INVOICE_FONT", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

# --- Delivery ---------------------------------------------------------------

DELIVERY_BACKEND = env_choice(
    "DELIVERY_BACKEND", "stream", ("stream", "x-accel", "x-sendfile", "s3")
)
# "Download all" under gunicorn on the `stream` backend: each file's bytes go to the
# socket with sendfile() between the ZIP's headers (decision 101). Off: Python reads them.
DELIVERY_ZIP_SENDFILE = env_bool("DELIVERY_ZIP_SENDFILE", True)
# Where nginx's `internal` location maps the private storage root.
DELIVERY_X_ACCEL_PREFIX = env_str("DELIVERY_X_ACCEL_PREFIX", "/_protected/")
FILE_LINK_MAX_AGE = env_int("FILE_LINK_MAX_AGE", 5 * 60)
DOWNLOAD_WINDOW_SECONDS = env_int("DOWNLOAD_WINDOW_SECONDS", 30 * 60)
# How long the browser that placed an order may download that order's files
# from its receipt page (the library itself is reached only by its own link).
RECEIPT_ACCESS_SECONDS = env_int("RECEIPT_ACCESS_SECONDS", 24 * 3600)
# How long the presigned GET behind an `s3` redirect stays valid.
FILE_LINK_REDIRECT_SECONDS = env_int("FILE_LINK_REDIRECT_SECONDS", 30)
# A library whose files are fetched from this many networks (/24 for IPv4, /48
# for IPv6) within 24 hours is flagged to sellers as probably shared. A buyer
# with a home, a phone and an office rarely goes past three or four.
DELIVERY_SHARED_NETWORKS = env_int("DELIVERY_SHARED_NETWORKS", 8)
# Other formats of lossless music, made by ffmpeg in the worker (Debian's
# package), bounded like the media inspection: wall-clock seconds per file,
# address space in bytes.
# How long a link of the library's players (audio, video, PDF opened in the
# browser) keeps working: long enough for an album to play through.
STREAM_LINK_MAX_AGE = env_int("STREAM_LINK_MAX_AGE", 4 * 3600)
FFMPEG_BINARY = env_str("FFMPEG_BINARY", "ffmpeg")
TRANSCODE_SECONDS = env_int("TRANSCODE_SECONDS", 900)
TRANSCODE_MEMORY_BYTES = env_int("TRANSCODE_MEMORY_BYTES", 1024 * 1024 * 1024)

# --- Security ---------------------------------------------------------------

# Reverse proxies in front of the app that append the client's address to
# X-Forwarded-For (1 behind one nginx). 0 trusts only the connection itself:
# the header is client input and anyone can forge it.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
# Django's database sessions, each write one statement (shop/sessions.py).
SESSION_ENGINE = "shop.sessions"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_REFERRER_POLICY = "same-origin"
CSRF_FAILURE_VIEW = "shop.errors.csrf_failure"
X_FRAME_OPTIONS = "DENY"

# Probes of load balancers and orchestrators come over plain HTTP to the node.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# text (default) or json: one JSON object per line, with the request id.
LOG_FORMAT = env_choice("LOG_FORMAT", "text", ("text", "json"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "catalog.requestid.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "catalog.requestid.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
