"""core.rawsql: a hand-written statement's row becomes the same instance the
ORM loads, on SQLite (text datetimes, integer booleans) and PostgreSQL."""

import pytest
from django.db import connection

from disclosure.cases.models import Case
from disclosure.core.rawsql import ModelColumns
from tests.factories import make_case

pytestmark = pytest.mark.django_db


def _read(columns: ModelColumns, pk: int):
    table = columns.model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT {columns.select()} FROM "{table}" "{columns.alias}" '
            f'WHERE "{columns.alias}"."id" = %s',
            [pk],
        )
        (row,) = cursor.fetchall()
    return columns.instance(row)


def test_a_case_reads_as_the_orm_loads_it(analyst, lead, vendor):
    """Every concrete field: JSON, dates, aware datetimes, booleans, nullable
    foreign keys and text."""
    case = make_case("secured", actor=analyst, vendor=vendor, lead=lead)
    loaded = Case.objects.get(pk=case.pk)
    raw = _read(ModelColumns(Case, "c"), case.pk)
    assert not raw._state.adding and raw._state.db == "default"
    differing = [
        f.attname
        for f in Case._meta.concrete_fields
        if getattr(raw, f.attname) != getattr(loaded, f.attname)
        or type(getattr(raw, f.attname)) is not type(getattr(loaded, f.attname))
    ]
    assert differing == []
    # the converted values, as Python has them (not the backend's text or 0/1)
    assert raw.secured_at.tzinfo is not None and raw.legal_hold is False
    assert isinstance(raw.data_categories, list) and isinstance(raw.records_by_kind, dict)
    assert raw.follows_up_id is None and raw.vendor_id == vendor.pk


def test_the_select_list_names_every_concrete_column_under_the_alias():
    columns = ModelColumns(Case, "c")
    select = columns.select()
    assert len(columns) == len(Case._meta.concrete_fields)
    assert select.startswith('"c"."id", ')
    assert '"c"."vendor_id"' in select and '"c"."ledger_head"' in select
    assert select.count('"c".') == len(columns)
