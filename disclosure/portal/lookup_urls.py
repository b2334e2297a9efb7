"""The portal's verified-lookup pages (under /portal/lookup/)."""

from django.urls import path

from .views import lookups

urlpatterns = [
    path("lookup/", lookups.lookup_page, name="lookup"),
    path("lookup/domains/", lookups.domains_page, name="lookup_domains"),
    path("lookup/verify/", lookups.verify_page, name="lookup_verify"),
    path("lookup/verify/code/", lookups.code_page, name="lookup_code"),
    path("lookup/verify/dns/", lookups.dns_page, name="lookup_dns"),
]
