from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "disclosure.cases"
    label = "cases"
