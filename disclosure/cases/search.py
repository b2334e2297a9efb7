"""Search over a case's reference, title, summary and asset identifier.

On PostgreSQL: full-text search (the ``simple`` configuration: no stemming,
so references, host names and bucket names match as written) on the stored
``search_document`` column with its GIN index (migration ``cases/0003``), or
an exact reference. The document also holds the asset identifier split at
punctuation, and the query is split the same way, so "fabrikam-backups"
finds "s3://fabrikam-backups". Elsewhere (SQLite): case-insensitive
substring matches.
"""

import re

from django.db import connection
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL

from .models import Case

SEARCH_FIELDS = ("reference", "title", "summary", "asset_identifier")
MAX_QUERY_LENGTH = 200
_MATCH = '"cases_case"."search_document" @@ websearch_to_tsquery(\'simple\'::regconfig, %s)'


def _split_words(text: str) -> str:
    """Punctuation between two word characters becomes a space (as in the
    document), leaving the operators of a web search ("-word", quotes, or) alone."""
    return re.sub(r"(?<=\w)[^\w\s\"]+(?=\w)", " ", text)


def search_cases(qs: QuerySet[Case], text: str) -> QuerySet[Case]:
    """The cases of ``qs`` that match ``text`` (all of ``qs`` when blank)."""
    text = " ".join(text.split())[:MAX_QUERY_LENGTH]
    if not text:
        return qs
    if connection.vendor == "postgresql":
        matches = RawSQL(_MATCH, [_split_words(text)], output_field=BooleanField())
        return qs.filter(Q(matches) | Q(reference=text.upper()))
    condition = Q()
    for field in SEARCH_FIELDS:
        condition |= Q(**{f"{field}__icontains": text})
    return qs.filter(condition)
