"""``/demo/``: the demo's local endpoints (debug mode only; disclosure/urls.py)."""

from django.urls import path

from . import endpoints

app_name = "demo"

urlpatterns = [
    path("assets/<slug:name>/", endpoints.asset, name="asset"),
    path("webhook-receiver/", endpoints.webhook_receiver, name="webhook_receiver"),
]
