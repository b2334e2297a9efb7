from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "disclosure.ledger"
    label = "ledger"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the deploy checks)
