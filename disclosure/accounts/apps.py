from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "disclosure.accounts"
    label = "accounts"
    verbose_name = "Accounts and organizations"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the database checks)
