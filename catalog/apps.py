from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from catalog import checks  # noqa: F401 - registers the system checks
        from catalog.seller_menu import seller_menu_add

        seller_menu_add(
            key="dashboard", label=_("Products"), url_name="catalog:sell_dashboard", position=10
        )
        seller_menu_add(
            key="new", label=_("New product"), url_name="catalog:sell_product_new", position=20
        )
        seller_menu_add(
            key="imports", label=_("Import"), url_name="catalog:sell_imports", position=30
        )
        seller_menu_add(
            key="profile", label=_("Profile"), url_name="catalog:sell_profile", position=90
        )
