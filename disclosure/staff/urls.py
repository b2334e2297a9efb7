"""URLs of the staff UI (mounted at the site root)."""

from django.urls import path

from .views import auth, dashboard

app_name = "staff"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("login/", auth.StaffLoginView.as_view(), name="login"),
    path("logout/", auth.StaffLogoutView.as_view(), name="logout"),
]
