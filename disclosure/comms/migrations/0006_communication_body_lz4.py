"""A communication's body is compressed with LZ4 rather than pglz (PostgreSQL).

A received message's body (a few KB to a few hundred KB of text) is stored
compressed out of line (TOAST). PostgreSQL's default, pglz, compresses at
tens of MB/s: for mail ingestion (comms.inbound_batch) it was about a third
of the communication INSERT's time (10,000 messages, 165 MB of bodies: 4.5 s
of pglz against under 1 s of LZ4). The values read back are the same; only
bodies written from now on are compressed with LZ4 (those written before
stay as they are, and both read alike).

PostgreSQL 14+ built with LZ4 (the Debian and the official builds are); on
a server without it the column keeps pglz (nothing else changes). SQLite: nothing.
"""

from django.db import DatabaseError, migrations, transaction

TABLE = "comms_communication"


def _set(schema_editor, method: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    connection = schema_editor.connection
    if connection.pg_version < 140000:
        return
    statement = f'ALTER TABLE "{TABLE}" ALTER COLUMN "body" SET COMPRESSION {method}'
    try:
        # a savepoint: a server that refuses LZ4 leaves the column as it was
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(statement)
    except DatabaseError:
        pass  # the server was built without LZ4: the column keeps pglz


def forwards(apps, schema_editor):
    _set(schema_editor, "lz4")


def backwards(apps, schema_editor):
    _set(schema_editor, "pglz")


class Migration(migrations.Migration):
    dependencies = [("comms", "0005_outbox_delivery_recipients")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
