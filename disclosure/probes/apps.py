from django.apps import AppConfig


class ProbesConfig(AppConfig):
    name = "disclosure.probes"
    label = "probes"
    verbose_name = "Re-probes"
