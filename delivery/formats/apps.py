from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FormatsConfig(AppConfig):
    name = "delivery.formats"
    label = "delivery_formats"
    verbose_name = _("Delivery formats")
