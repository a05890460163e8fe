from django.apps import AppConfig


class ProcessingConfig(AppConfig):
    name = "processing"
    verbose_name = "Jobs and results"

    def ready(self) -> None:
        from . import signals  # noqa: F401
