from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "disclosure.portal"
    label = "portal"
    verbose_name = "Vendor liaison portal"
