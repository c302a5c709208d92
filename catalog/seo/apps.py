from django.apps import AppConfig


class SeoConfig(AppConfig):
    name = "catalog.seo"
    label = "seo"
    verbose_name = "Search engines, feeds and embeds"
