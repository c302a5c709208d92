from django.conf import settings
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy

from delivery import selectors
from delivery.models import Download, Entitlement, Library, LibraryLink


class SharedWidelyFilter(admin.SimpleListFilter):
    title = gettext_lazy("sharing")
    parameter_name = "shared"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        label = gettext("Used from %(count)d or more networks in 24 hours") % {
            "count": settings.DELIVERY_SHARED_NETWORKS
        }
        return [("yes", label)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Library]) -> QuerySet[Library]:
        if self.value() == "yes":
            return queryset.filter(pk__in=selectors.libraries_shared_widely().values("pk"))
        return queryset


@admin.register(Library)
class LibraryAdmin(admin.ModelAdmin):
    list_display = ["email", "user", "created_at", "networks_24h", "last_download_at"]
    list_filter = [SharedWidelyFilter]
    search_fields = ["email"]
    raw_id_fields = ["user"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Library]:
        return selectors.libraries_with_networks().select_related("user")

    @admin.display(description=gettext_lazy("networks (24 h)"), ordering="networks")
    def networks_24h(self, library: Library) -> str:
        count = getattr(library, "networks", 0)
        if count >= settings.DELIVERY_SHARED_NETWORKS:
            return format_html(
                '<strong title="{}">⚠ {} — {}</strong>',
                gettext("probably shared"),
                count,
                gettext("shared?"),
            )
        return str(count)

    @admin.display(description=gettext_lazy("last download"), ordering="last_download_at")
    def last_download_at(self, library: Library) -> object:
        return getattr(library, "last_download_at", None) or "—"


@admin.register(LibraryLink)
class LibraryLinkAdmin(admin.ModelAdmin):
    list_display = ["library", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["token_hash"]


@admin.register(Entitlement)
class EntitlementAdmin(admin.ModelAdmin):
    list_display = ["library", "product", "status", "download_limit", "created_at"]
    list_filter = ["status"]
    search_fields = ["library__email", "product__title"]
    raw_id_fields = ["library", "product"]


@admin.register(Download)
class DownloadAdmin(admin.ModelAdmin):
    list_display = ["at", "asset", "entitlement", "ip", "network", "range_header", "counted"]
    list_filter = ["counted"]
    search_fields = ["entitlement__library__email", "ip", "network"]
    raw_id_fields = ["entitlement", "asset"]
