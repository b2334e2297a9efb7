from django.apps import AppConfig


class LookupsConfig(AppConfig):
    name = "disclosure.lookups"
    label = "lookups"
    verbose_name = "Verified lookups"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the settings checks)
