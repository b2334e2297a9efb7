from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "disclosure.ledger"
    label = "ledger"
