from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "disclosure.exports"
    label = "exports"
    verbose_name = "Legal timeline exports"
