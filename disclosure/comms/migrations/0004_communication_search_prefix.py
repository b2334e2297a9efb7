"""The Communication's full-text index covers the opening of the body only.

``comms/0002`` indexed ``to_tsvector('simple', ...)`` over the whole body:
PostgreSQL computes that vector on every INSERT, in time proportional to the
text, which made a received message's row its costliest write (about 6 ms
for a long reply, most of it the quoted thread). The index is rebuilt under
the same name (``comms_communication_search``) over the subject, the first
4,000 characters of the body (``LEFT(body, 4000)``: where a message's own
words are), the sender and the recipients: exactly the vector ``cases.search``
matches (``search_vector(*COMMUNICATION_DOCUMENT)``; keep the two identical or
the planner will not use it). PostgreSQL only; on SQLite (which searches the
whole body by substring) this migration does nothing.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations
from django.db.models.functions import Left

NAME = "comms_communication_search"
BODY_CHARS = 4000


def _whole() -> GinIndex:
    return GinIndex(
        SearchVector("subject", "body", "sender", "recipients", config="simple"), name=NAME
    )


def _prefix() -> GinIndex:
    document = ("subject", Left("body", BODY_CHARS), "sender", "recipients")
    return GinIndex(SearchVector(*document, config="simple"), name=NAME)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        model = apps.get_model("comms", "Communication")
        schema_editor.remove_index(model, _whole())
        schema_editor.add_index(model, _prefix())


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        model = apps.get_model("comms", "Communication")
        schema_editor.remove_index(model, _prefix())
        schema_editor.add_index(model, _whole())


class Migration(migrations.Migration):
    dependencies = [("comms", "0003_mail")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
