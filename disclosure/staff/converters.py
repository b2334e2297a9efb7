"""URL converters of the staff UI."""

from django.urls import register_converter


class CaseReferenceConverter:
    """A case reference such as ``DSC-2026-0042`` (prefix, year, number). It
    never matches a word like ``new``, so ``/cases/new/`` stays free."""

    regex = r"[A-Za-z][A-Za-z0-9]*-[0-9]{4}-[0-9]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class CaseTabConverter:
    """A tab of the case page (``case_page.TABS``): only those words, so the
    case's other URLs (actions/, exports/, evidence/<id>/) stay free."""

    regex = "timeline|communications|evidence|attestation|disputes|escalations|follow-ups"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


# Registered when this module is imported: every URL module that names them
# imports it (staff.urls, staff.affected_urls), whichever is read first.
register_converter(CaseReferenceConverter, "caseref")
register_converter(CaseTabConverter, "casetab")
