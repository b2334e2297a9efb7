from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "disclosure.demo"
    label = "demo"
    verbose_name = "Demo data"
