"""A GIN index on the Communication's full-text document (cases.search).

PostgreSQL only: the index is an expression index over
``to_tsvector('simple', ...)``, exactly the vector ``cases.search`` matches
(``search_vector(*COMMUNICATION_FIELDS)``; keep the two identical or the planner
will not use it). It is created here rather than in the model's Meta.indexes
because a functional GinIndex cannot be created on SQLite; on SQLite (which
searches by substring) this migration does nothing.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

NAME = "comms_communication_search"
FIELDS = ("subject", "body", "sender", "recipients")


def _index() -> GinIndex:
    return GinIndex(SearchVector(*FIELDS, config="simple"), name=NAME)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("comms", "Communication"), _index())


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("comms", "Communication"), _index())


class Migration(migrations.Migration):
    dependencies = [("comms", "0001_initial")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
