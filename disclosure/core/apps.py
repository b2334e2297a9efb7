from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "disclosure.core"
    label = "core"
