"""Communications' full-text documents written after their transaction
(PostgreSQL; comms/0007).

A communication's document (``CommunicationSearch``) is written by a
trigger in the statement that inserts the communication, except in a
transaction that called ``defer()`` (a chunk of received mail,
``comms.inbound_batch``): the trigger then lists the new communications as
pending (``CommunicationSearchPending``), in that same transaction, and
``index_pending`` writes their documents later. ``index_soon`` (called on
the chunk's commit) has a background thread of this process do so on its
own connection, while the fetch goes on with the next chunk; ``wait``
waits for it. ``cases.search`` computes the vector of a pending
communication on the fly, so a search finds every communication from its
commit on, its document written or not; a pending row left by a stopped
process is written by the next ``index_pending``. SQLite: nothing (search
matches substrings there).
"""

import logging
import threading

from django.db import connection, transaction
from django.db.models.expressions import RawSQL

from .models import Communication

logger = logging.getLogger(__name__)

SETTING = "disclosure.defer_communication_search"
# Pending communications whose documents one statement writes.
BATCH = 500

_lock = threading.Lock()
_wanted = threading.Event()
_idle = threading.Event()
_idle.set()
_thread: threading.Thread | None = None


def defer() -> None:
    """Until the current transaction ends, the documents of the
    communications it inserts are left pending (written by
    ``index_pending`` after the commit). Call inside ``transaction.atomic``."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, 'on', true)", [SETTING])


def index_pending(limit: int = BATCH) -> int:
    """Write the documents of at most ``limit`` pending communications and
    take them off the pending list, in one statement (its own transaction):
    a search sees each either pending or written. Pending rows another
    process is writing are skipped. Returns how many were taken (0: none
    left, or not PostgreSQL)."""
    if connection.vendor != "postgresql":
        return 0
    from disclosure.cases.search import COMMUNICATION_DOCUMENT, search_vector

    documents = (
        Communication.objects.filter(pk__in=RawSQL("SELECT communication_id FROM taken", ()))
        .order_by()
        .values_list("pk", search_vector(*COMMUNICATION_DOCUMENT))
    )
    select, params = documents.query.sql_with_params()
    statement = (
        "WITH taken AS ("
        " DELETE FROM comms_communicationsearchpending WHERE communication_id IN ("
        "  SELECT communication_id FROM comms_communicationsearchpending"
        "  ORDER BY communication_id LIMIT %s FOR UPDATE SKIP LOCKED)"
        " RETURNING communication_id),"
        " written AS ("
        f" INSERT INTO comms_communicationsearch (communication_id, document) {select}"
        " ON CONFLICT (communication_id) DO UPDATE SET document = EXCLUDED.document)"
        " SELECT count(*) FROM taken"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, [limit, *params])
        return cursor.fetchone()[0]


def index_all() -> int:
    """``index_pending`` until nothing is pending; the number written."""
    total = 0
    while taken := index_pending():
        total += taken
    return total


def index_soon() -> None:
    """Have this process's indexing thread run ``index_all`` (started on
    first use, woken when idle; it closes its connection when done)."""
    global _thread
    if connection.vendor != "postgresql":
        return
    with _lock:
        _idle.clear()
        _wanted.set()
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_run, name="search-index", daemon=True)
            _thread.start()


def wait(timeout: float | None = None) -> bool:
    """Wait until the indexing thread has nothing left to do; False on timeout."""
    return _idle.wait(timeout)


def _run() -> None:
    while True:
        _wanted.wait()
        _wanted.clear()
        try:
            index_all()
        except Exception:  # what is pending stays pending: search still finds it
            logger.exception("Writing the search documents of new communications failed.")
        finally:
            connection.close()  # this thread's own connection
        with _lock:
            if not _wanted.is_set():
                _idle.set()
