"""What a token may do: one scope per kind of access, named ``<resource>:<verb>``.

New capabilities add their scope here (webhooks, license keys...); a token
keeps the scopes it was made with, so adding one never widens an old token.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

SALES_READ = "sales:read"
CATALOG_READ = "catalog:read"
CATALOG_WRITE = "catalog:write"
FOLLOWERS_READ = "followers:read"
LICENSES_VERIFY = "licenses:verify"
LICENSES_READ = "licenses:read"
LICENSES_WRITE = "licenses:write"

SCOPES: dict[str, Promise] = {
    CATALOG_READ: _("Read your products and their files’ details"),
    CATALOG_WRITE: _("Create and change products"),
    SALES_READ: _("Read your sales, refunds, dashboard figures and campaigns"),
    FOLLOWERS_READ: _("Read your followers’ addresses"),
    LICENSES_VERIFY: _(
        "Check license keys (the only permission a token inside your program needs)"
    ),
    LICENSES_READ: _("Read the license keys you sold, with their buyers"),
    LICENSES_WRITE: _("Reset, revoke and replace license keys"),
}
