from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.widgets import AdminFileWidget
from django.core.files.uploadedfile import UploadedFile
from django.forms import BaseInlineFormSet
from django.http import HttpRequest

from catalog.admin_numbers import ParsedNumbersAdmin
from catalog.discovery.services import product_index, seller_index
from catalog.inspection.types import MediaRefused
from catalog.media import safe_filename
from catalog.models import Asset, Product, Seller
from catalog.services.assets import asset_describe


@admin.register(Seller)
class SellerAdmin(admin.ModelAdmin):
    list_display = ["display_name", "slug", "user", "currency", "created_at"]
    search_fields = ["display_name", "slug", "user__email"]
    prepopulated_fields = {"slug": ["display_name"]}
    raw_id_fields = ["user"]

    def save_model(self, request: HttpRequest, obj: Seller, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # The admin writes rows itself: the index follows here, as it does in the services.
        seller_index(seller=obj)


class AssetInlineFormSet(BaseInlineFormSet):
    """Reads each uploaded file before anything is saved: a refused file is a form error."""

    def clean(self) -> None:
        super().clean()
        for form in self.forms:
            if not form.has_changed() or form.cleaned_data.get("DELETE"):
                continue
            for name in ("file", "public_file"):
                upload = form.cleaned_data.get(name)
                if isinstance(upload, UploadedFile):
                    try:
                        asset_describe(asset=Asset(), file=upload)
                    except MediaRefused as exc:
                        form.add_error(name, f"{upload.name}: {exc.reason}")
                    finally:
                        upload.seek(0)


class PrivateFileWidget(AdminFileWidget):
    """The current paid file by name, without a link: private files have no URL."""

    template_name = "catalog/widgets/private_file_input.html"

    def is_initial(self, value: Any) -> bool:
        return bool(value and getattr(value, "name", ""))


class AssetInline(admin.TabularInline):
    model = Asset
    formset = AssetInlineFormSet
    extra = 1
    fields = [
        "role",
        "position",
        "file",
        "public_file",
        "original_filename",
        "size_bytes",
        "mime_type",
        "sha256",
    ]
    readonly_fields = ["original_filename", "size_bytes", "mime_type", "sha256"]

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "file":
            kwargs["widget"] = PrivateFileWidget
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(Product)
class ProductAdmin(ParsedNumbersAdmin):
    money_fields = ("price", "suggested_price")
    list_display = ["title", "seller", "kind", "pricing", "price", "currency", "status"]
    list_filter = ["status", "kind", "pricing"]
    search_fields = ["title", "slug", "seller__display_name"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [AssetInline]

    def save_formset(
        self, request: HttpRequest, form: Any, formset: BaseInlineFormSet, change: bool
    ) -> None:
        if formset.model is not Asset:
            return super().save_formset(request, form, formset, change)
        for asset in formset.save(commit=False):
            for field in (asset.file, asset.public_file):
                upload = field.file if field else None
                if isinstance(upload, UploadedFile):
                    asset.original_filename = safe_filename(upload.name or "")
                    asset_describe(asset=asset, file=upload)
            # Whichever field the file was put in, the role decides its storage.
            wrong = asset.file if asset.role == Asset.Role.PREVIEW else asset.public_file
            if wrong:
                asset.stored.save(safe_filename(wrong.name or ""), wrong.file, save=False)
                wrong.name = ""
            asset.save()
        for gone in formset.deleted_objects:
            gone.delete()
        formset.save_m2m()
        return None

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # After the tags and files: the document holds both.
        product_index(product=form.instance)
