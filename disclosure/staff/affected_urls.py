"""The staff UI's affected-entity pages (included by staff.urls)."""

from django.urls import path

from . import converters  # noqa: F401 - registers caseref
from .views import affected

A = "cases/<caseref:reference>/affected/"

urlpatterns = [
    path(A, affected.affected_page, name="case_affected"),
    path(A + "summary/", affected.affected_summary, name="case_affected_summary"),
    path(A + "imports/", affected.affected_imports, name="case_affected_imports"),
    path(A + "import/", affected.affected_import, name="case_affected_import"),
    path(A + "minimise/", affected.affected_minimise, name="case_affected_minimise"),
    path(A + "lookups/", affected.affected_lookups, name="case_affected_lookups"),
    path(A + "group/", affected.affected_group, name="case_affected_group"),
    path(A + "claim/", affected.affected_claim, name="case_affected_claim"),
    path(A + "organizations/<int:org_id>/told/", affected.affected_told, name="case_affected_told"),
]
