from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "disclosure.evidence"
    label = "evidence"
