"""URLs of the re-probe pages, under /cases/<reference>/probes/."""

from django.urls import path

from . import views

app_name = "probes"

urlpatterns = [
    path("", views.history, name="history"),
    path("settings/", views.schedule, name="schedule"),
    path("run/", views.probe_now, name="probe_now"),
    path("<int:result_id>/secured/", views.record_secured, name="record_secured"),
    path("<int:result_id>/follow-up/", views.open_follow_up, name="open_follow_up"),
]
