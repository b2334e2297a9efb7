"""Evidence on S3-compatible object storage (issue 20, part 5), against a
real SeaweedFS server (tests/s3server.py): write, read, hash, the integrity
check, downloads through the access-checking views, the retention purge and
the orphan sweep, and no URL, public or signed."""

import io
import os
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from disclosure.cases import services
from disclosure.cases.stages import Stage
from disclosure.core.errors import DuplicateEvidence
from disclosure.core.timeutils import now
from disclosure.evidence import retention
from disclosure.evidence.integrity import hash_blob
from disclosure.evidence.models import EvidenceFile
from disclosure.evidence.rotation import check_all
from disclosure.evidence.storage import blob_name, open_blob, store_stream
from disclosure.evidence.sweep import sweep_orphan_blobs
from disclosure.ledger.verify import verify_case
from tests.factories import capture, make_case
from tests.s3server import ACCESS_KEY, BUCKET, SECRET_KEY, s3_evidence_storage, seaweedfs

pytestmark = [pytest.mark.django_db, pytest.mark.s3]

# Fixtures from tests/s3server.py, used by name below.
__all__ = ["s3_evidence_storage", "seaweedfs"]

CONTENT = b"listing of the exposed container\n"
SHA = "72e51fad527f49e33c380509a5c5ae8ec778cf3c27140bcc8ea8aa5bf524861e"
OTHER = b"another capture, stored on SeaweedFS\n"


@pytest.fixture(autouse=True)
def _policies(db):
    from disclosure.cases.policies import ensure_default_policies

    ensure_default_policies()


def key_of(storage, sha256: str) -> str:
    return f"{storage.location}/{blob_name(sha256)}"


def test_a_blob_is_written_read_and_hashed_on_the_object_store(s3_evidence_storage, seaweedfs):
    blob = store_stream(io.BytesIO(CONTENT))
    assert (blob.sha256, blob.size, blob.content_type) == (SHA, len(CONTENT), "text/plain")
    head = seaweedfs.client().head_object(Bucket=BUCKET, Key=key_of(s3_evidence_storage, SHA))
    assert head["ContentLength"] == len(CONTENT)
    with open_blob(SHA) as f:
        assert f.read() == CONTENT
    assert hash_blob(SHA) == SHA
    assert hash_blob("0" * 64) is None  # missing: FileNotFoundError inside, None out


def test_storing_the_same_content_again_keeps_one_object_and_renews_it(
    s3_evidence_storage, seaweedfs
):
    store_stream(io.BytesIO(CONTENT))
    first = s3_evidence_storage.get_modified_time(blob_name(SHA))
    import time

    time.sleep(1.1)  # S3 times have whole seconds
    store_stream(io.BytesIO(CONTENT))
    listed = seaweedfs.client().list_objects_v2(
        Bucket=BUCKET, Prefix=f"{s3_evidence_storage.location}/"
    )
    assert [o["Key"] for o in listed["Contents"]] == [key_of(s3_evidence_storage, SHA)]
    assert s3_evidence_storage.get_modified_time(blob_name(SHA)) > first


def test_evidence_has_no_url_and_the_object_is_not_public(s3_evidence_storage, seaweedfs):
    store_stream(io.BytesIO(CONTENT))
    with pytest.raises(ValueError, match="no URL"):
        s3_evidence_storage.url(blob_name(SHA))
    anonymous = f"{seaweedfs.endpoint}/{BUCKET}/{key_of(s3_evidence_storage, SHA)}"
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(anonymous, timeout=10)
    assert exc.value.code == 403


def test_the_integrity_check_reads_the_object_store(
    s3_evidence_storage, seaweedfs, analyst, vendor
):
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    assert check_all().failed == []
    assert verify_case(case, deep=True).ok
    client = seaweedfs.client()
    client.put_object(Bucket=BUCKET, Key=key_of(s3_evidence_storage, SHA), Body=b"edited")
    assert check_all().failed == [SHA]
    report = verify_case(case, deep=True)
    assert [p.text for p in report.problems] == [
        f"the stored file of evidence {case.evidence.get().pk} does not match its SHA-256"
    ]


def test_downloads_go_through_the_access_checking_views(
    s3_evidence_storage, client, analyst, vendor, vendor_contact, other_vendor_contact
):
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    evidence = case.evidence.get()
    client.force_login(analyst)
    staff = client.get(f"/cases/{case.reference}/evidence/{evidence.pk}/")
    assert staff.status_code == 200
    assert b"".join(staff.streaming_content) == CONTENT
    client.force_login(vendor_contact)
    portal = client.get(f"/portal/cases/{case.reference}/evidence/{evidence.pk}/")
    assert portal.status_code == 200
    assert b"".join(portal.streaming_content) == CONTENT
    api = APIClient()
    api.force_authenticate(analyst)
    response = api.get(f"/api/v1/cases/{case.reference}/evidence/{evidence.pk}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == CONTENT
    api.force_authenticate(other_vendor_contact)
    response = api.get(f"/api/v1/cases/{case.reference}/evidence/{evidence.pk}/download/")
    assert response.status_code == 404
    client.logout()
    anonymous = client.get(f"/cases/{case.reference}/evidence/{evidence.pk}/")
    assert anonymous.status_code == 302


def test_the_purge_deletes_the_object(s3_evidence_storage, seaweedfs, analyst, lead, vendor):
    case = make_case(
        Stage.CLOSED, actor=analyst, vendor=vendor, lead=lead, start=now() - timedelta(days=3)
    )
    later = now() + timedelta(days=400)
    # The blob was written just now: left to the sweep within the hour ...
    result = retention.purge_expired(at=later)
    assert (result.cases, result.blobs_kept) == ([case.reference], [SHA])
    assert EvidenceFile.objects.get(case=case).purged_at is not None
    # ... which removes it once it is old enough.
    assert sweep_orphan_blobs(older_than=now() + timedelta(seconds=5)).deleted == [SHA]
    assert not s3_evidence_storage.exists(blob_name(SHA))
    assert verify_case(case, deep=True).ok


def test_the_purge_deletes_an_old_object_at_once(
    s3_evidence_storage, analyst, lead, vendor, monkeypatch
):
    make_case(
        Stage.CLOSED, actor=analyst, vendor=vendor, lead=lead, start=now() - timedelta(days=3)
    )
    # As if the blob had been written two hours ago.
    monkeypatch.setattr(retention, "GRACE", timedelta(seconds=-60))
    result = retention.purge_expired(at=now() + timedelta(days=400))
    assert result.blobs_deleted == [SHA]
    assert not s3_evidence_storage.exists(blob_name(SHA))


def test_the_orphan_sweep_lists_the_object_store(s3_evidence_storage, analyst, vendor):
    kept = make_case(actor=analyst, vendor=vendor)
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
            exposure_evidence=[capture(OTHER), capture(OTHER, name="again")],
        )
    orphan = store_stream(io.BytesIO(OTHER)).sha256
    assert sweep_orphan_blobs().deleted == []  # too recent
    result = sweep_orphan_blobs(older_than=now() + timedelta(seconds=5))
    assert (result.examined, result.deleted) == (2, [orphan])
    assert s3_evidence_storage.exists(blob_name(kept.evidence.get().sha256))
    assert not s3_evidence_storage.exists(blob_name(orphan))


def test_the_settings_select_object_storage_from_the_environment(seaweedfs, tmp_path):
    """DJANGO settings as documented (docs/DEPLOY.md): EVIDENCE_S3_* make
    the evidence storage PrivateS3Storage on that server."""
    root = Path(__file__).resolve().parents[2]
    script = (
        "import io, django; django.setup()\n"
        "from django.core.files.storage import storages\n"
        "from disclosure.evidence.storage import store_stream, open_blob\n"
        "s = storages['evidence']\n"
        "b = store_stream(io.BytesIO(b'from the environment'))\n"
        "print(type(s).__name__, s.bucket_name, open_blob(b.sha256).read().decode())\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "disclosure.settings",
        "DJANGO_DEBUG": "1",
        "PRIVATE_STORAGE_ROOT": str(tmp_path),
        "EVIDENCE_S3_BUCKET": BUCKET,
        "EVIDENCE_S3_ENDPOINT_URL": seaweedfs.endpoint,
        "EVIDENCE_S3_REGION": "us-east-1",
        "EVIDENCE_S3_ACCESS_KEY_ID": ACCESS_KEY,
        "EVIDENCE_S3_SECRET_ACCESS_KEY": SECRET_KEY,
        "EVIDENCE_S3_PREFIX": "from-env",
    }
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip() == f"PrivateS3Storage {BUCKET} from the environment"
