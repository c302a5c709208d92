from django.apps import AppConfig


class DiscoveryConfig(AppConfig):
    name = "catalog.discovery"
    label = "discovery"
    verbose_name = "Search and listings"
    default_auto_field = "django.db.models.BigAutoField"
