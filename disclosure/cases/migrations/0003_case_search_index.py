"""Indexes for the staff case list on PostgreSQL only (SQLite has no GIN):

- full-text search over reference, title, summary and asset identifier (also
  split at punctuation): the
  expression is exactly the one ``cases.search.search_vector()`` compiles to
  (a PostgreSQL test checks that the planner uses the index);
- the data-category filter (``data_categories @> '["pii"]'``).
"""

from django.db import migrations

SEARCH_INDEX = "cases_case_search_gin"
CATEGORY_INDEX = "cases_case_categories_gin"

CREATE = [
    f"CREATE INDEX IF NOT EXISTS {SEARCH_INDEX} ON cases_case USING gin ("
    "to_tsvector('simple'::regconfig, COALESCE(reference, '') || ' ' || COALESCE(title, '')"
    " || ' ' || COALESCE(summary, '') || ' ' || COALESCE(asset_identifier, '')"
    " || ' ' || COALESCE(REGEXP_REPLACE(asset_identifier, '[^[:alnum:]]+', ' ', 'g'), '')))",
    f"CREATE INDEX IF NOT EXISTS {CATEGORY_INDEX} ON cases_case "
    "USING gin (data_categories jsonb_path_ops)",
]
DROP = [f"DROP INDEX IF EXISTS {SEARCH_INDEX}", f"DROP INDEX IF EXISTS {CATEGORY_INDEX}"]


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
        migrations.RunPython(_run(CREATE), _run(DROP), elidable=False),
    ]
