"""URLs of the portal."""

app_name = "portal"

urlpatterns: list = []
