"""``core.copyrows.insert``: the rows ``bulk_create`` writes (PostgreSQL: by
a binary COPY), column for column."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from disclosure.cases.stages import Stage
from disclosure.comms.models import Communication
from disclosure.core import copyrows
from tests.factories import make_case

pytestmark = pytest.mark.django_db

COLUMNS = [f.attname for f in Communication._meta.concrete_fields if not f.primary_key]


def _comms(case, user, tag: str) -> list[Communication]:
    return [
        Communication(
            case=case, direction="inbound", channel="email",
            sender=f"Søren <s{i}@contoso.example>",
            recipients=["research@firm.example", f"cc: x{i}@firm.example", 'q"\\\t'],
            subject=f"Re: {tag} {i} \\ tab\there", body=("body\t\\N\r\nline é\u2028 " * 900) + tag,
            body_sha256="0" * 64, occurred_at=datetime(2026, 3, 2, 9, i, tzinfo=UTC),
            logged_by=user, message_id=f"<{tag}-{i}@contoso.example>",
            in_reply_to="" if i else "<prev@x>", references="<a@x> <b@x>",
            sender_unknown=[None, True, False][i % 3], automated="auto_reply" if i == 2 else "",
        )
        for i in range(5)
    ]  # fmt: skip


def _values(objs) -> list[dict]:
    rows = Communication.objects.filter(pk__in=[o.pk for o in objs]).order_by("pk")
    return [{c: v for c, v in row.items() if c != "logged_at"} for row in rows.values(*COLUMNS)]


def test_insert_writes_what_bulk_create_writes(analyst, vendor):
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    copied = copyrows.insert(_comms(case, analyst, "a"))
    created = Communication.objects.bulk_create(_comms(case, analyst, "b"))
    assert all(o.pk is not None and not o._state.adding for o in copied)
    assert [o.pk for o in copied] == sorted(o.pk for o in copied)
    assert all(o.logged_at is not None for o in copied)  # auto_now_add set on the object
    a, b = _values(copied), _values(created)
    for row in a + b:
        row["message_id"] = row["message_id"][3:]
        row["subject"] = row["subject"].replace("Re: a", "").replace("Re: b", "")
        row["body"] = row["body"][:-1]
    assert a == b
    assert Communication.objects.get(pk=copied[0].pk).logged_at == copied[0].logged_at


def test_insert_is_one_copy_on_postgresql(analyst, vendor):
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    with CaptureQueriesContext(connection) as queries:
        copyrows.insert(_comms(case, analyst, "c"))
    writes = [q["sql"].split(" ")[0] for q in queries if q["sql"].startswith(("INSERT", "COPY"))]
    assert writes == (["COPY"] if connection.vendor == "postgresql" else ["INSERT"])
    assert Communication.objects.filter(message_id__startswith="<c-").count() == 5


def test_insert_of_nothing_writes_nothing():
    assert copyrows.insert([]) == []


def test_insert_is_seen_by_execute_wrappers(analyst, vendor):
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    seen: list[str] = []

    def watch(execute, sql, params, many, context):
        seen.append(sql.split(" ")[0])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        copyrows.insert(_comms(case, analyst, "d"))
    assert seen[-1] == ("COPY" if connection.vendor == "postgresql" else "INSERT")
