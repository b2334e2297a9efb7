from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "disclosure.tokens"
    label = "tokens"
    verbose_name = "API tokens"
