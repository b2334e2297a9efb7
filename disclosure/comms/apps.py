from django.apps import AppConfig


class CommsConfig(AppConfig):
    name = "disclosure.comms"
    label = "comms"
    verbose_name = "Communications"
