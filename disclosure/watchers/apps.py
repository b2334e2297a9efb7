from django.apps import AppConfig


class WatchersConfig(AppConfig):
    name = "disclosure.watchers"
    label = "watchers"
    verbose_name = "Watchers"
