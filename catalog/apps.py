from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from catalog import checks  # noqa: F401 - registers the system checks
        from catalog.seller_menu import seller_menu_add

        seller_menu_add(
            key="dashboard", label="Products", url_name="catalog:sell_dashboard", position=10
        )
        seller_menu_add(
            key="new", label="New product", url_name="catalog:sell_product_new", position=20
        )
        seller_menu_add(key="imports", label="Import", url_name="catalog:sell_imports", position=30)
        seller_menu_add(
            key="profile", label="Profile", url_name="catalog:sell_profile", position=90
        )
