"""A communication's full-text document in its own table, written by a
trigger, or just after its chunk's commit for received mail (PostgreSQL).

``comms/0004``'s GIN expression index made PostgreSQL compute
``to_tsvector('simple', ...)`` of every new communication inside the
INSERT: for mail ingestion (comms.inbound_batch) about 0.5 ms a message and
most of the communication INSERT's database time. Now:

- ``comms_communicationsearch`` (``CommunicationSearch``) holds each
  communication's document, the same vector as before (``DOCUMENT`` below is
  ``cases.search``'s ``search_vector(*COMMUNICATION_DOCUMENT)``; a test keeps
  them equal), with the GIN index, under the old index's name
  (``comms_communication_search``; the expression index is dropped);
- a statement trigger on ``comms_communication`` writes the new rows'
  documents in the same statement, as the index did, except in a
  transaction that set ``disclosure.defer_communication_search`` to ``on``
  (``comms.searchindex.defer``, a chunk of received mail): then it lists the
  rows in ``comms_communicationsearchpending``, in the same transaction, and
  ``comms.searchindex`` writes their documents after the commit;
- ``cases.search`` matches the documents, and computes the vector on the fly
  for the pending rows, so a search finds a communication from its commit on,
  as before.

The documents of the communications already there are written here. SQLite
(which searches by substring): the two tables only.
"""

import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models

INDEX = "comms_communication_search"
BODY_CHARS = 4000
# cases.search's search_vector(*COMMUNICATION_DOCUMENT), as PostgreSQL writes
# comms/0004's index expression.
DOCUMENT = (
    "to_tsvector('simple'::regconfig, (((((((COALESCE(subject, ''::character varying))::text"
    " || ' '::text) || COALESCE(\"left\"(body, 4000), ''::text)) || ' '::text)"
    " || (COALESCE(sender, ''::character varying))::text) || ' '::text)"
    " || COALESCE((recipients)::text, ''::text)))"
)
FUNCTION = f"""
CREATE FUNCTION comms_communication_search_document() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('disclosure.defer_communication_search', true) = 'on' THEN
        INSERT INTO comms_communicationsearchpending (communication_id)
        SELECT id FROM new_rows
        ON CONFLICT (communication_id) DO NOTHING;
    ELSE
        INSERT INTO comms_communicationsearch (communication_id, document)
        SELECT id, {DOCUMENT} FROM new_rows
        ON CONFLICT (communication_id) DO UPDATE SET document = EXCLUDED.document;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER comms_communication_search
AFTER INSERT ON comms_communication
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION comms_communication_search_document();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    execute = schema_editor.execute
    execute(f"DROP INDEX IF EXISTS {INDEX}")
    execute(
        "INSERT INTO comms_communicationsearch (communication_id, document) "
        f"SELECT id, {DOCUMENT} FROM comms_communication"
    )
    execute(f"CREATE INDEX {INDEX} ON comms_communicationsearch USING gin (document)")
    execute(FUNCTION)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    execute = schema_editor.execute
    execute("DROP TRIGGER IF EXISTS comms_communication_search ON comms_communication")
    execute("DROP FUNCTION IF EXISTS comms_communication_search_document()")
    execute(f"DROP INDEX IF EXISTS {INDEX}")
    execute(f"CREATE INDEX {INDEX} ON comms_communication USING gin ({DOCUMENT})")


class Migration(migrations.Migration):
    dependencies = [
        ("comms", "0006_communication_body_lz4"),
    ]

    operations = [
        migrations.CreateModel(
            name="CommunicationSearch",
            fields=[
                (
                    "communication",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="comms.communication",
                    ),
                ),
                ("document", django.contrib.postgres.search.SearchVectorField()),
            ],
        ),
        migrations.CreateModel(
            name="CommunicationSearchPending",
            fields=[
                (
                    "communication",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="comms.communication",
                    ),
                ),
            ],
        ),
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
