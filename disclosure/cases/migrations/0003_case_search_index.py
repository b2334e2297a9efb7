"""Indexes for the staff case list.

- The default order, newest found first (both databases).
- PostgreSQL only (SQLite has no tsvector nor GIN): a stored generated
  ``search_document`` column, the full-text document of reference, title,
  summary and asset identifier (also split at punctuation, so the parts of
  URLs and host names are words), with a GIN index; ``cases.search`` queries
  it. The model does not declare the column: the database computes it and
  Django never reads or writes it.
- PostgreSQL only: a GIN index for the data-category filter
  (``data_categories @> '["pii"]'``), and a partial covering index of the
  open, notified cases with what ``cases.deadlines`` reads (overdue counts
  and filters scan it instead of the table).
"""

from django.db import migrations, models

SEARCH_INDEX = "cases_case_search_gin"
CATEGORY_INDEX = "cases_case_categories_gin"
DEADLINE_INDEX = "cases_case_open_deadlines"

CREATE = [
    "ALTER TABLE cases_case ADD COLUMN search_document tsvector GENERATED ALWAYS AS ("
    "to_tsvector('simple'::regconfig, COALESCE(reference, '') || ' ' || COALESCE(title, '')"
    " || ' ' || COALESCE(summary, '') || ' ' || COALESCE(asset_identifier, '')"
    " || ' ' || COALESCE(REGEXP_REPLACE(asset_identifier, '[^[:alnum:]]+', ' ', 'g'), ''))"
    ") STORED",
    f"CREATE INDEX {SEARCH_INDEX} ON cases_case USING gin (search_document)",
    f"CREATE INDEX {CATEGORY_INDEX} ON cases_case USING gin (data_categories jsonb_path_ops)",
    f"CREATE INDEX {DEADLINE_INDEX} ON cases_case (vendor_notified_at) INCLUDE (policy_id,"
    " vendor_acknowledged_at, secured_at, published_at)"
    " WHERE closed_at IS NULL AND vendor_notified_at IS NOT NULL",
]
DROP = [
    f"DROP INDEX IF EXISTS {DEADLINE_INDEX}",
    f"DROP INDEX IF EXISTS {CATEGORY_INDEX}",
    f"DROP INDEX IF EXISTS {SEARCH_INDEX}",
    "ALTER TABLE cases_case DROP COLUMN IF EXISTS search_document",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0002_ledger_head"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["-found_at", "-id"], name="case_found_desc_idx"),
        ),
        migrations.RunPython(_run(CREATE), _run(DROP), elidable=False),
    ]
