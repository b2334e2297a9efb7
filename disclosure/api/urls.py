"""URLs of the api."""

app_name = "api"

urlpatterns: list = []
