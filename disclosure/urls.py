"""Top-level URLs. The staff UI, portal and API arrive with their issues."""

from django.urls import path
from django.views.generic import RedirectView

from disclosure.accounts.admin_site import admin_site
from disclosure.core.views import healthz

urlpatterns = [
    # Until the staff UI lands, the root leads to the admin rather than a 404.
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin_site.urls),
    path("healthz", healthz, name="healthz"),
]
