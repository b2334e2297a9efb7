"""The site's URLs with the demo's endpoints, as debug mode mounts them
(tests run with DEBUG off when the URLconf is first read)."""

from django.urls import include, path

from disclosure.urls import urlpatterns as site

urlpatterns = [
    path("demo/", include("disclosure.demo.urls")),
    *(p for p in site if getattr(p, "app_name", None) != "demo"),
]
