from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "disclosure.staff"
    label = "staff"
    verbose_name = "Staff web UI"
