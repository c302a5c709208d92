"""Whole numbers typed into the admin go through the shop's one parser.

Django's admin reads an ``IntegerField`` with ``int()``, which takes ``١٢``,
``1_000`` or ``+12`` and any size up to the database's range. Staff type
minor units, basis points and counts; :class:`ParsedNumbersAdmin` gives every
integer field of a model admin a form field read by
:func:`catalog.money.parse_count`, with the amount ceiling on the fields it
names in ``money_fields``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest

from catalog.money import NumberError, parse_count

# PostgreSQL's integer range: the largest value any integer column here holds.
INTEGER_MAX = 2**31 - 1


class ParsedCountField(forms.CharField):
    def __init__(self, *, maximum: int, **kwargs: Any) -> None:
        self.maximum = maximum
        kwargs.pop("max_length", None)
        kwargs.pop("min_value", None)
        kwargs.pop("max_value", None)
        kwargs.pop("step_size", None)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> int | None:  # type: ignore[override]
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        try:
            return parse_count(text, maximum=self.maximum)
        except NumberError as exc:
            raise ValidationError(str(exc), code="invalid") from None


class ParsedNumbersAdmin(admin.ModelAdmin):
    """Every plain integer field read by the shop's parser; ``money_fields`` in minor units."""

    money_fields: tuple[str, ...] = ()

    def formfield_for_dbfield(
        self, db_field: models.Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        if isinstance(db_field, models.IntegerField) and not isinstance(
            db_field, models.AutoField | models.BigAutoField
        ):
            maximum = (
                settings.AMOUNT_MAX_MINOR if db_field.name in self.money_fields else INTEGER_MAX
            )
            return ParsedCountField(
                maximum=maximum,
                required=not db_field.blank,
                label=db_field.verbose_name.capitalize(),
                help_text=db_field.help_text,
                initial=db_field.get_default() if db_field.has_default() else None,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)
