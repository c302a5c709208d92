"""Seller-side forms: they turn what a person typed into typed values.

Rules about the catalog (a fixed price above zero, who may publish, unique
addresses) live in ``catalog/services/``; a refusal there comes back to the
form through :func:`add_service_error`.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError

from catalog.currencies import currency_choices
from catalog.l10n import language_or_default
from catalog.license_format import DEFAULT_PATTERN, license_key_normalize, license_pattern_error
from catalog.models import Asset, Product, Seller
from catalog.money import TYPED_MAX_CHARS, AmountError, parse_amount, to_decimal_string
from catalog.services import CatalogError

IMAGE_MAX_BYTES = 10 * 1024 * 1024
IMAGE_MAX_PIXELS = 40_000_000
IMAGE_FORMATS = ("JPEG", "PNG", "WEBP")


def validate_uploaded_image(file: UploadedFile) -> None:
    """A cover or avatar: JPEG, PNG or WebP, not huge, readable.

    Only those three decoders are tried (never EPS, so never Ghostscript), and
    the pixel count is checked from the header before anything is decoded.
    """
    if file.size and file.size > IMAGE_MAX_BYTES:
        raise forms.ValidationError(_("Images up to 10 MB, please."))
    try:
        file.seek(0)
        with Image.open(file, formats=IMAGE_FORMATS) as image:
            width, height = image.size
            if width * height > IMAGE_MAX_PIXELS:
                raise forms.ValidationError(
                    _("This image is %(width)s×%(height)s pixels; up to 40 megapixels, please.")
                    % {"width": width, "height": height}
                )
            image.verify()
    except forms.ValidationError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise forms.ValidationError(_("Use a JPEG, PNG or WebP image.")) from None
    except (OSError, SyntaxError, ValueError):
        raise forms.ValidationError(_("This image is damaged and cannot be read.")) from None
    finally:
        file.seek(0)


def add_service_error(form: forms.Form, error: CatalogError) -> None:
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


class SignupForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 8 characters, not only digits, not a common password."),
    )
    display_name = forms.CharField(
        label=_("Your name or your shop's"),
        max_length=120,
        help_text=_("Shown to buyers. You can change it later."),
    )


class SellerStartForm(forms.Form):
    display_name = forms.CharField(
        label=_("Your name or your shop's"),
        max_length=120,
        help_text=_("Shown to buyers. You can change it later."),
    )


def _timezone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(available_timezones())]


class SellerProfileForm(forms.Form):
    display_name = forms.CharField(label=_("Display name"), max_length=120)
    slug = forms.CharField(
        label=_("Shop address"),
        max_length=60,
        help_text=_("Lower-case letters, digits and hyphens: your page is /@address/."),
    )
    bio = forms.CharField(
        label=_("About you"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Markdown: **bold**, *italic*, [links](https://…), lists."),
    )
    avatar = forms.FileField(
        label=_("Picture"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
        help_text=_("JPEG, PNG or WebP, up to 10 MB."),
    )
    remove_avatar = forms.BooleanField(label=_("Remove the current picture"), required=False)
    is_organization = forms.BooleanField(
        label=_("This shop is a group, a label or a company, not one person"),
        required=False,
        help_text=_("Search engines then present your page as an organization."),
    )
    links = forms.CharField(
        label=_("Links"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Up to 5 web addresses, one per line (your site, your other shops)."),
    )
    currency = forms.ChoiceField(
        label=_("Currency"),
        choices=currency_choices,
        help_text=_("New products are priced in it."),
    )
    tax_behavior = forms.ChoiceField(
        label=_("VAT and your prices"),
        choices=Seller.TaxBehavior.choices,
        widget=forms.RadioSelect,
        required=False,
        help_text=_(
            "When the shop collects VAT: included, the buyer pays the price you set; "
            "added, the buyer pays your price plus their country's VAT."
        ),
    )
    legal_name = forms.CharField(
        label=_("Legal name"),
        max_length=200,
        required=False,
        help_text=_("Your name or your company's, as on invoices. Empty: your display name."),
    )
    legal_address = forms.CharField(
        label=_("Postal address"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Printed on invoices."),
    )
    vat_number = forms.CharField(
        label=_("VAT number"),
        max_length=20,
        required=False,
        help_text=_("If you have one, with its country code, like FR12345678901."),
    )
    timezone = forms.ChoiceField(label=_("Time zone"), choices=_timezone_choices)
    language = forms.ChoiceField(
        label=_("Language of your emails"),
        choices=settings.LANGUAGES,
        required=False,
        help_text=_("Sales and account messages are written in it."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        keep = str(self.initial.get("currency") or "")
        self.fields["currency"].choices = currency_choices(keep=keep)  # type: ignore[attr-defined]

    def clean_avatar(self) -> UploadedFile | None:
        file = self.cleaned_data.get("avatar")
        if file:
            validate_uploaded_image(file)
        return file or None

    def clean_links(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["links"].splitlines() if line.strip()]

    @classmethod
    def initial_for(cls, seller: Seller) -> dict[str, Any]:
        return {
            "display_name": seller.display_name,
            "slug": seller.slug,
            "bio": seller.bio,
            "links": "\n".join(seller.links or []),
            "currency": seller.currency,
            "timezone": seller.timezone,
            "is_organization": seller.is_organization,
            "tax_behavior": seller.tax_behavior,
            "legal_name": seller.legal_name,
            "legal_address": seller.legal_address,
            "vat_number": seller.vat_number,
            "language": language_or_default(seller.language),
        }


def _amount_field(label: Any, help_text: Any) -> forms.CharField:
    # A lazy translation (gettext_lazy), which the stubs call _StrPromise.
    """An optional amount typed as the buyer would write it (9, 12.50, 12,50); parsed later,
    by ``parse_amount``, whose messages (a length limit included) say how to write it."""
    return forms.CharField(
        label=label,
        required=False,
        strip=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "maxlength": TYPED_MAX_CHARS}),
        help_text=help_text,
    )


class ProductForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    slug = forms.CharField(
        label=_("Address"),
        max_length=80,
        required=False,
        help_text=_("Part of the product's web address. Left empty, it is made from the title."),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=Product.Kind.choices)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=_("Markdown: **bold**, *italic*, [links](https://…), lists, headings (##)."),
    )
    cover = forms.FileField(
        label=_("Cover image"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
        help_text=_("Square works best. JPEG, PNG or WebP, up to 10 MB."),
    )
    remove_cover = forms.BooleanField(label=_("Remove the current cover"), required=False)
    currency = forms.ChoiceField(label=_("Currency"), choices=currency_choices)
    pricing = forms.ChoiceField(
        label=_("Pricing"), choices=Product.Pricing.choices, widget=forms.RadioSelect
    )
    price = _amount_field(_("Price"), _("For example 9 or 12.50."))
    minimum = _amount_field(_("Minimum"), _("0 lets people pay nothing."))
    suggested_price = _amount_field(_("Suggested price"), _("Filled in for the buyer; optional."))
    status = forms.ChoiceField(label=_("Status"), choices=Product.Status.choices)
    release_date = forms.DateField(
        label=_("Release date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=500,
        help_text=_("Up to 10, separated by commas: ambient, field recordings."),
    )

    license_keys = forms.BooleanField(
        label=_("Give each buyer a license key"),
        required=False,
        help_text=_(
            "For software: every sale gets its own key, shown in the buyer’s library. "
            "Your program checks it through the API."
        ),
    )
    license_format = forms.CharField(
        label=_("Key format"),
        required=False,
        max_length=64,
        help_text=_(
            "Each X becomes a random character; the rest is kept as written, "
            "for example NIGHT-XXXX-XXXX-XXXX-XXXX."
        ),
    )
    license_max_activations = forms.IntegerField(
        label=_("Activations per key"),
        required=False,
        min_value=1,
        max_value=1_000_000,
        help_text=_("Empty means no limit. Changing it applies to keys sold afterwards."),
    )

    def __init__(self, *args: Any, keep_currency: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # An older product priced in a currency the shop no longer offers keeps it
        # on its own form (it cannot go on sale until repriced).
        self.fields["currency"].choices = currency_choices(keep=keep_currency)  # type: ignore[attr-defined]

    def clean_cover(self) -> UploadedFile | None:
        file = self.cleaned_data.get("cover")
        if file:
            validate_uploaded_image(file)
        return file or None

    def clean_license_format(self) -> str:
        pattern = license_key_normalize(self.cleaned_data.get("license_format") or "")
        if not pattern:
            return DEFAULT_PATTERN
        error = license_pattern_error(pattern)
        if error is not None:
            raise forms.ValidationError(error)
        return pattern

    def clean_tags(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data["tags"].split(",") if t.strip()]

    def _amount(self, field: str, currency: str, *, required: bool) -> int | None:
        text = (self.cleaned_data.get(field) or "").strip()
        if not text:
            if required:
                self.add_error(field, _("Enter an amount."))
            return None
        try:
            return parse_amount(text, currency)
        except AmountError as exc:
            self.add_error(field, str(exc))
            return None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        currency, pricing = data.get("currency") or "EUR", data.get("pricing")
        data["price_minor"], data["suggested_minor"] = 0, None
        if pricing == Product.Pricing.FIXED:
            data["price_minor"] = self._amount("price", currency, required=True) or 0
        elif pricing == Product.Pricing.PWYW:
            data["price_minor"] = self._amount("minimum", currency, required=False) or 0
            data["suggested_minor"] = self._amount("suggested_price", currency, required=False)
        return data

    @classmethod
    def initial_for(cls, product: Product) -> dict[str, Any]:
        def amount(value: int | None) -> str:
            return "" if value is None else to_decimal_string(value, product.currency)

        pwyw = product.pricing == Product.Pricing.PWYW
        fixed = product.pricing == Product.Pricing.FIXED
        return {
            "title": product.title,
            "slug": product.slug,
            "kind": product.kind,
            "description": product.description,
            "currency": product.currency,
            "pricing": product.pricing,
            "price": amount(product.price) if fixed else "",
            "minimum": amount(product.price) if pwyw else "",
            "suggested_price": amount(product.suggested_price) if pwyw else "",
            "status": product.status,
            "release_date": product.release_date,
            "tags": ", ".join(t.slug for t in product.tags.all()),
            "license_keys": product.license_keys,
            "license_format": product.license_format,
            "license_max_activations": product.license_max_activations,
        }


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def clean(self, data: Any, initial: Any = None) -> Any:
        if isinstance(data, list | tuple):
            if not data and self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return [super(MultipleFileField, self).clean(d, initial) for d in data]
        return [super().clean(data, initial)]


class AssetUploadForm(forms.Form):
    """The upload form without JavaScript: one request per file set (small files)."""

    # Empty files reach the inspection, whose refusal names the file.
    file = MultipleFileField(
        label=_("Choose files"), widget=MultipleFileInput(), allow_empty_file=True
    )
    role = forms.ChoiceField(
        label=_("These files are"),
        choices=[
            (Asset.Role.DELIVERABLE, _("For buyers (private)")),
            (Asset.Role.PREVIEW, _("Public previews (playable on the product page)")),
        ],
        initial=Asset.Role.DELIVERABLE,
    )
