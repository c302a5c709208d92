from django.contrib import admin

from delivery.models import Download, Entitlement, Library, LibraryLink


@admin.register(Library)
class LibraryAdmin(admin.ModelAdmin):
    list_display = ["email", "user", "created_at"]
    search_fields = ["email"]
    raw_id_fields = ["user"]


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
    list_display = ["at", "asset", "entitlement", "ip", "counted"]
    list_filter = ["counted"]
    raw_id_fields = ["entitlement", "asset"]
