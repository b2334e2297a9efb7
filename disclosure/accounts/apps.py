from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "disclosure.accounts"
    label = "accounts"
    verbose_name = "Accounts and organizations"
