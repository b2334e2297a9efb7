"""A GIN index on the EvidenceFile's full-text document (cases.search).

PostgreSQL only: the index is an expression index over
``to_tsvector('simple', ...)``, exactly the vector ``cases.search`` matches
(``search_vector(*EVIDENCE_FIELDS)``; keep the two identical or the planner
will not use it). It is created here rather than in the model's Meta.indexes
because a functional GinIndex cannot be created on SQLite; on SQLite (which
searches by substring) this migration does nothing.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

NAME = "evidence_file_search"
FIELDS = ("original_name",)


def _index() -> GinIndex:
    return GinIndex(SearchVector(*FIELDS, config="simple"), name=NAME)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("evidence", "EvidenceFile"), _index())


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("evidence", "EvidenceFile"), _index())


class Migration(migrations.Migration):
    dependencies = [("evidence", "0002_integrityalarm")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
