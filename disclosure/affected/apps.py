from django.apps import AppConfig


class AffectedConfig(AppConfig):
    name = "disclosure.affected"
    label = "affected"
    verbose_name = "Affected entities and disputes"
