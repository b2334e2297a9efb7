"""Top-level URLs: the staff UI at the root, the vendor portal, the REST
API, the admin, health."""

from django.conf import settings
from django.urls import include, path

from disclosure.accounts.admin_site import admin_site
from disclosure.core.health import health
from disclosure.core.views import favicon, healthz

urlpatterns = [
    path("admin/", admin_site.urls),
    path("healthz", healthz, name="healthz"),
    path("health/", health, name="health"),
    path("favicon.ico", favicon, name="favicon"),
    path("portal/", include("disclosure.portal.urls")),
    path("api/v1/", include("disclosure.api.urls")),
    path("cases/<str:reference>/probes/", include("disclosure.probes.urls")),  # re-probes
    path("cases/<str:reference>/retention/", include("disclosure.staff.retention_urls")),
    path("", include("disclosure.staff.urls")),
]

if settings.DEBUG:  # the demo's local endpoints (disclosure.demo.endpoints), never in production
    urlpatterns.insert(0, path("demo/", include("disclosure.demo.urls")))
