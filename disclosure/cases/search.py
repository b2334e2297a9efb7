"""Search over a case and the records filed under it.

A case matches when the text is found in:

- its reference, title, summary or asset identifier;
- its communications' subject, body, sender or recipients (on PostgreSQL
  the first 4,000 characters of the body: ``COMMUNICATION_DOCUMENT``);
- its vendor's contact addresses (the organization's security contacts and
  domains, the vendor contacts' e-mail addresses; not the firm's people);
- its disputes' text (subject, both positions, the answer, the settlement
  reason);
- its evidence files' names.

On PostgreSQL: full-text search with the ``simple`` configuration (no
stemming, no stop words: references, host names, file names and addresses
match as written, and the firm writes in more than one language; the same
configuration as the case's ``search_document``). The case's own fields use
the stored ``search_document`` column with its GIN index (``cases/0003``), or
an exact reference; the document also holds the asset identifier split at
punctuation, and the query is split the same way, so "fabrikam-backups"
finds "s3://fabrikam-backups"; it is matched as ``id IN (SELECT id ...)``
so that the GIN index serves it inside the OR. The records are matched
through subqueries (``id IN (SELECT case_id ...)``, each run once as a
hashed subplan) on ``to_tsvector('simple', ...)`` expressions, each backed
by a GIN expression index (``comms/0004``, ``affected/0003``, ``evidence/0003``:
the vectors below are the indexes' expressions, keep them identical).
Contact addresses (a few short rows per vendor, no index) are matched as
case-insensitive substrings on every database, so "fabrikam.com" finds
"security@fabrikam.com". Elsewhere (SQLite): case-insensitive substrings.

Access: with ``staff=False`` (a vendor contact) internal records never take
part (``vendor_view.VENDOR_COMMUNICATIONS`` / ``VENDOR_EVIDENCE``), nor any
communication or evidence file of a case whose vendor ever changed (what was
filed under another vendor is not this vendor's; the per-case rule of
``vendor_view.vendor_communications`` cannot be written over many cases at
once, so search keeps out the whole of such a case's records, never more
than the vendor may read). A vendor cannot learn that an internal note
contains a word.
"""

import re

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import Func, RawSQL
from django.db.models.functions import Left

from disclosure.accounts.models import Membership, Organization, Role
from disclosure.affected.models import Dispute
from disclosure.comms.models import (
    Communication,
    CommunicationSearch,
    CommunicationSearchPending,
)
from disclosure.evidence.models import EvidenceFile
from disclosure.ledger.models import CaseEvent

from .models import Case
from .vendor_view import VENDOR_CHANGE, VENDOR_COMMUNICATIONS, VENDOR_EVIDENCE

SEARCH_FIELDS = ("reference", "title", "summary", "asset_identifier")
COMMUNICATION_FIELDS = ("subject", "body", "sender", "recipients")
# On PostgreSQL a communication's document holds the opening of its body
# only (comms/0004: indexing whole bodies made every received message slow).
COMMUNICATION_BODY_CHARS = 4000
COMMUNICATION_DOCUMENT = ("subject", Left("body", COMMUNICATION_BODY_CHARS), "sender", "recipients")
DISPUTE_FIELDS = ("subject", "firm_position", "vendor_position", "answer", "settlement_reason")
EVIDENCE_FIELDS = ("original_name",)
CONFIG = "simple"
MAX_QUERY_LENGTH = 200
# Its own FROM, so that the match is a subquery on the GIN index whatever
# alias the outer query gives the case table.
_MATCHING_IDS = (
    "SELECT id FROM cases_case"
    " WHERE search_document @@ websearch_to_tsquery('simple'::regconfig, %s)"
)


def search_vector(*fields: "str | Func") -> SearchVector:
    """The document of a record: the expression its GIN index is built on."""
    return SearchVector(*fields, config=CONFIG)


def _split_words(text: str) -> str:
    """Punctuation between two word characters becomes a space (as in the
    document), leaving the operators of a web search ("-word", quotes, or) alone."""
    return re.sub(r"(?<=\w)[^\w\s\"]+(?=\w)", " ", text)


def _matching(qs: QuerySet, fields: tuple[str, ...], text: str, document=None) -> QuerySet:
    """The rows of ``qs`` whose ``fields`` hold ``text`` (on PostgreSQL: whose
    ``document``, by default ``fields``, matches it)."""
    if connection.vendor == "postgresql":
        query = SearchQuery(text, search_type="websearch", config=CONFIG)
        vector = search_vector(*(document or fields))
        return qs.annotate(search_match=vector).filter(search_match=query)
    return qs.filter(_icontains(fields, text))


def _icontains(fields: tuple[str, ...], text: str) -> Q:
    condition = Q()
    for field in fields:
        condition |= Q(**{f"{field}__icontains": text})
    return condition


def _record_conditions(text: str, *, staff: bool) -> Q:
    """Conditions on the case: one of its records matches ``text``. Each
    record source is an ``id IN (SELECT case_id ...)`` subquery, which
    PostgreSQL runs once (a hashed subplan) through that table's GIN index."""
    communications = Communication.objects.all()
    evidence = EvidenceFile.objects.all()
    if not staff:
        inherited = Exists(CaseEvent.objects.filter(VENDOR_CHANGE, case=OuterRef("case_id")))
        communications = communications.filter(VENDOR_COMMUNICATIONS).exclude(inherited)
        evidence = evidence.filter(VENDOR_EVIDENCE).exclude(inherited)
    organization = Organization.objects.filter(pk=OuterRef("vendor_id")).filter(
        _icontains(("security_contacts", "domains"), text)
    )
    contacts = Membership.objects.filter(
        organization=OuterRef("vendor_id"),
        role=Role.VENDOR_CONTACT,
        user__email__icontains=text,
    )
    return (
        _communication_conditions(communications, text)
        | Q(pk__in=_matching(Dispute.objects.all(), DISPUTE_FIELDS, text).values("case_id"))
        | Q(pk__in=_matching(evidence, EVIDENCE_FIELDS, text).values("case_id"))
        | Q(Exists(organization))
        | Q(Exists(contacts))
    )


def _communication_conditions(communications: QuerySet, text: str) -> Q:
    """The case has one of ``communications`` that matches ``text``. On
    PostgreSQL its stored document (``CommunicationSearch``, GIN-indexed,
    the vector of ``COMMUNICATION_DOCUMENT``) matches, or, while that is
    still to be written (``CommunicationSearchPending``: received mail, just
    after its chunk's commit), the vector computed here: the same result."""
    if connection.vendor != "postgresql":
        return Q(pk__in=_matching(communications, COMMUNICATION_FIELDS, text).values("case_id"))
    query = SearchQuery(text, search_type="websearch", config=CONFIG)
    indexed = CommunicationSearch.objects.filter(document=query).values("communication_id")
    pending = communications.filter(
        pk__in=CommunicationSearchPending.objects.values("communication_id")
    )
    return Q(pk__in=communications.filter(pk__in=indexed).values("case_id")) | Q(
        pk__in=_matching(pending, COMMUNICATION_FIELDS, text, COMMUNICATION_DOCUMENT).values(
            "case_id"
        )
    )


def search_cases(qs: QuerySet[Case], text: str, *, staff: bool = False) -> QuerySet[Case]:
    """The cases of ``qs`` that match ``text`` (all of ``qs`` when blank).

    ``staff``: whether internal records may match (the firm's people); a
    vendor contact's search (the default) never matches on what the vendor
    projection hides. Adds no query: every source is a subquery of the one
    case query."""
    text = " ".join(text.split())[:MAX_QUERY_LENGTH]
    if not text:
        return qs
    records = _record_conditions(text, staff=staff)
    if connection.vendor == "postgresql":
        matching = RawSQL(_MATCHING_IDS, [_split_words(text)])
        return qs.filter(Q(pk__in=matching) | Q(reference=text.upper()) | records)
    return qs.filter(_icontains(SEARCH_FIELDS, text) | records)
