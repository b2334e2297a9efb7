"""Blobs left by a rolled-back service are swept; referenced ones stay."""

from datetime import timedelta

import pytest

from disclosure.cases import services
from disclosure.core.errors import DuplicateEvidence
from disclosure.core.hashing import sha256_hex
from disclosure.core.timeutils import now
from disclosure.evidence.storage import blob_name, evidence_storage
from disclosure.evidence.sweep import sweep_orphan_blobs
from disclosure.evidence.tasks import sweep_orphan_blobs_task
from tests.factories import capture, make_case

pytestmark = pytest.mark.django_db


def test_rolled_back_upload_leaves_a_blob_that_the_sweep_removes(analyst, vendor):
    kept = make_case(actor=analyst, vendor=vendor)
    kept_sha = kept.evidence.get().sha256
    orphan_content = b"stored, then the transaction rolled back"
    with pytest.raises(DuplicateEvidence):
        services.open_case(
            actor=analyst,
            vendor=vendor,
            title="t",
            asset_provider="aws",
            asset_kind="s3_bucket",
            asset_identifier="s3://x",
            how_found="scan",
            found_at=now(),
            exposure_evidence=[capture(orphan_content), capture(orphan_content, name="again")],
        )
    storage = evidence_storage()
    orphan = blob_name(sha256_hex(orphan_content))
    assert storage.exists(orphan)

    # Too recent: a transaction could still be open.
    assert sweep_orphan_blobs().deleted == []
    result = sweep_orphan_blobs(older_than=now() + timedelta(seconds=1))
    assert result.deleted == [sha256_hex(orphan_content)]
    assert result.examined == 2
    assert not storage.exists(orphan)
    assert storage.exists(blob_name(kept_sha))


def test_sweep_task_reports_what_it_did(analyst, vendor):
    make_case(actor=analyst, vendor=vendor)
    assert sweep_orphan_blobs_task() == {"examined": 1, "deleted": []}


def test_sweep_on_empty_storage():
    assert sweep_orphan_blobs().examined == 0


def test_storing_an_existing_blob_renews_it_so_the_sweep_spares_it(analyst, vendor):
    import os

    content = b"an old orphan, uploaded again"
    storage = evidence_storage()
    import io

    from disclosure.evidence.storage import store_stream

    store_stream(io.BytesIO(content))
    path = storage.path(blob_name(sha256_hex(content)))
    old = (now() - timedelta(days=2)).timestamp()
    os.utime(path, (old, old))
    store_stream(io.BytesIO(content))  # a new upload of the same bytes, still uncommitted
    assert sweep_orphan_blobs().deleted == []
    assert storage.exists(blob_name(sha256_hex(content)))
