"""Top-level URLs: the staff UI at the root, the admin, health. The portal
and the API arrive with their issues."""

from django.urls import include, path

from disclosure.accounts.admin_site import admin_site
from disclosure.core.views import healthz

urlpatterns = [
    path("admin/", admin_site.urls),
    path("healthz", healthz, name="healthz"),
    path("", include("disclosure.staff.urls")),
]
