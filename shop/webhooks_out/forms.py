from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from catalog.seller_events import EVENT_TYPES


class EndpointForm(forms.Form):
    url = forms.CharField(
        label=_("Address"),
        max_length=500,
        help_text=_("A public https:// address of yours, like https://example.com/echoppe-hooks."),
        widget=forms.URLInput(attrs={"inputmode": "url", "autocomplete": "url"}),
        error_messages={"max_length": _("This address is too long (at most 500 characters).")},
    )
    events = forms.MultipleChoiceField(
        label=_("Events to send"),
        choices=list(EVENT_TYPES.items()),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Choose at least one event from the list."),
            "invalid_choice": _("Choose at least one event from the list."),
        },
    )
    description = forms.CharField(
        label=_("Description"),
        max_length=200,
        required=False,
        help_text=_("What receives the events, so you recognise it later (optional)."),
    )
