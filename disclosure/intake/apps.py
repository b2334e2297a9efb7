from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "disclosure.intake"
    label = "intake"
    verbose_name = "Scanner intake"
