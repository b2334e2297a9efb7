"""Search over a case's reference, title, summary and asset identifier.

On PostgreSQL: full-text search (the ``simple`` configuration: no stemming,
so references, host names and bucket names match as written) served by the
GIN index of migration ``cases/0003`` (its expression must stay equal to
``search_vector()``; a PostgreSQL test checks that the planner uses it), or
an exact reference; words are also matched with the punctuation of URLs
and names ignored ("fabrikam-backups" finds "s3://fabrikam-backups").
Elsewhere (SQLite): case-insensitive substring matches.
"""

import re

from django.db import connection
from django.db.models import F, Func, Q, QuerySet, TextField, Value

from .models import Case

SEARCH_FIELDS = ("reference", "title", "summary", "asset_identifier")
MAX_QUERY_LENGTH = 200


def _words(field: str) -> Func:
    """``field`` with every run of non-alphanumerics turned into a space: the
    parser keeps URLs and host names whole ("/fabrikam-backups"), so their
    parts are indexed as words too."""
    return Func(
        F(field), Value("[^[:alnum:]]+"), Value(" "), Value("g"),
        function="REGEXP_REPLACE", output_field=TextField(),
    )  # fmt: skip


def search_vector():
    from django.contrib.postgres.search import SearchVector

    return SearchVector(*SEARCH_FIELDS, _words("asset_identifier"), config="simple")


def _split_words(text: str) -> str:
    """Punctuation between two word characters becomes a space (as in the
    index), leaving the operators of a web search ("-word", quotes, or) alone."""
    return re.sub(r"(?<=\w)[^\w\s\"]+(?=\w)", " ", text)


def search_cases(qs: QuerySet[Case], text: str) -> QuerySet[Case]:
    """The cases of ``qs`` that match ``text`` (all of ``qs`` when blank)."""
    text = " ".join(text.split())[:MAX_QUERY_LENGTH]
    if not text:
        return qs
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery

        query = SearchQuery(_split_words(text), config="simple", search_type="websearch")
        return qs.alias(search_document=search_vector()).filter(
            Q(search_document=query) | Q(reference=text.upper())
        )
    condition = Q()
    for field in SEARCH_FIELDS:
        condition |= Q(**{f"{field}__icontains": text})
    return qs.filter(condition)
