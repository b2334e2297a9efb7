from django.db import migrations, models

# The records keep what the file said (the direct load COPYs it as written);
# their hosts' normalisation lives in AffectedHost, one row per spelling, and
# the e-mail level is counted from the records, so the derived columns, the
# (case, domain) index and the distinct e-mail hashes go. Records written
# before hold the normalised host in ``host`` and the normalised address in
# ``email``: each host is its own spelling.

_FORWARD = (
    "UPDATE affected_affectedhost SET spelling = host",
    "UPDATE affected_affectedlist SET emails_by_hash = true WHERE minimise_emails OR EXISTS "
    "(SELECT 1 FROM affected_affectedrecord r WHERE r.case_id = affected_affectedlist.case_id "
    "AND r.email = '' AND r.email_hash <> '')",
)


def forward(apps, schema_editor):
    for sql in _FORWARD:
        schema_editor.execute(sql)
    if schema_editor.connection.vendor == "postgresql":
        # Byte-wise keys, as the hosts' before (migration 0005); the records
        # are found by case through a BRIN index: an import appends its rows
        # together, and a B-tree over them would cost the import more.
        schema_editor.execute(
            'ALTER TABLE affected_affectedhost ALTER COLUMN spelling TYPE varchar(253) COLLATE "C"'
        )
        schema_editor.execute(
            "CREATE INDEX affected_record_case_brin ON affected_affectedrecord USING brin (case_id)"
        )
    else:
        schema_editor.execute(
            "CREATE INDEX affected_record_case_brin ON affected_affectedrecord (case_id)"
        )


def backward(apps, schema_editor):
    schema_editor.execute("DROP INDEX affected_record_case_brin")


class Migration(migrations.Migration):
    dependencies = [
        ("affected", "0005_distinct_hosts_emails_countries"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="affectedrecord", name="affected_record_case_domain"),
        migrations.RemoveField(model_name="affectedrecord", name="line"),
        migrations.RemoveField(model_name="affectedrecord", name="is_ip"),
        migrations.RemoveField(model_name="affectedrecord", name="domain"),
        migrations.RemoveField(model_name="affectedrecord", name="free_mail"),
        migrations.DeleteModel(name="AffectedEmail"),
        migrations.AddField(
            model_name="affectedlist",
            name="emails_by_hash",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="affectedhost",
            name="spelling",
            field=models.CharField(default="", max_length=253),
            preserve_default=False,
        ),
        migrations.RemoveConstraint(model_name="affectedhost", name="affected_host_case_host"),
        migrations.RunPython(forward, backward),
        migrations.AddConstraint(
            model_name="affectedhost",
            constraint=models.UniqueConstraint(
                fields=("case", "spelling"), name="affected_host_case_spelling"
            ),
        ),
        # The direct load COPYs only the file's columns: the others take these.
        migrations.AlterField(
            model_name="affectedrecord",
            name="country",
            field=models.CharField(blank=True, db_default="", default="", max_length=2),
        ),
        migrations.AlterField(
            model_name="affectedrecord",
            name="email",
            field=models.CharField(blank=True, db_default="", default="", max_length=320),
        ),
        migrations.AlterField(
            model_name="affectedrecord",
            name="email_hash",
            field=models.CharField(blank=True, db_default="", default="", max_length=64),
        ),
        migrations.AlterField(
            model_name="affectedrecord",
            name="found_file",
            field=models.CharField(blank=True, db_default="", default="", max_length=1000),
        ),
        migrations.AlterField(
            model_name="affectedrecord",
            name="found_path",
            field=models.CharField(blank=True, db_default="", default="", max_length=1000),
        ),
        migrations.AlterField(
            model_name="affectedrecord",
            name="host",
            field=models.CharField(blank=True, db_default="", default="", max_length=253),
        ),
        migrations.AlterField(
            model_name="affectedrecord",
            name="organization",
            field=models.CharField(blank=True, db_default="", default="", max_length=300),
        ),
    ]
