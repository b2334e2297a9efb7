"""The case's evidence retention page (mounted at cases/<reference>/retention/)."""

from django.urls import path

from .views import retention

app_name = "retention"

urlpatterns = [path("", retention.set_retention, name="set")]
