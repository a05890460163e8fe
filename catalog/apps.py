from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog and teams"

    def ready(self) -> None:
        from . import signals  # noqa: F401
