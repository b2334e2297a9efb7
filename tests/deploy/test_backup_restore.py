"""The backup and restore procedure of docs/DEPLOY.md (issue 20, part 7), on
PostgreSQL: the database dumped with pg_dump, the evidence folder and the
anchor directory copied; restored into a fresh database, ``verify_ledger
--deep`` is clean. A restore from a backup older than the newest checkpoint
(it lost the events appended since) is caught against the anchor directory."""

import os
import shutil
import subprocess
import sys
import tarfile
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from disclosure.cases import services
from disclosure.cases.stages import Stage
from disclosure.core.timeutils import now
from disclosure.ledger import checkpoints
from disclosure.ledger.models import CaseEvent
from tests.factories import inbound_kwargs, make_case

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def _pg_env() -> dict[str, str]:
    """libpq's variables for the test database's server (pg_dump, createdb ...)."""
    s = connection.settings_dict
    env = {**os.environ, "PGHOST": s["HOST"] or "127.0.0.1", "PGPORT": str(s["PORT"] or 5432)}
    env["PGUSER"] = s["USER"] or "postgres"
    if s["PASSWORD"]:
        env["PGPASSWORD"] = s["PASSWORD"]
    return env


def _url(database: str) -> str:
    s = connection.settings_dict
    auth = s["USER"] or "postgres"
    if s["PASSWORD"]:
        auth += f":{s['PASSWORD']}"
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{database}"


def _run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, env=_pg_env(), capture_output=True, text=True, timeout=300, **kwargs
    )


def backup(folder: Path, private_root: Path, anchor_dir: Path) -> Path:
    """docs/DEPLOY.md "Backup": the database (pg_dump, custom format), the
    evidence folder and the anchor directory."""
    folder.mkdir(parents=True)
    database = connection.settings_dict["NAME"]
    done = _run(
        "pg_dump", "--format=custom", "--no-owner", f"--file={folder / 'db.dump'}", database
    )
    assert done.returncode == 0, done.stderr
    with tarfile.open(folder / "evidence.tar.gz", "w:gz") as tar:
        tar.add(private_root / "evidence", arcname="evidence")
    shutil.copytree(anchor_dir, folder / "anchor")
    return folder


@pytest.fixture
def restored_databases():
    """Fresh databases made by the test (dropped after it)."""
    made: list[str] = []

    def make() -> str:
        name = f"{connection.settings_dict['NAME']}_restore_{uuid.uuid4().hex[:8]}"
        done = _run("createdb", name)
        assert done.returncode == 0, done.stderr
        made.append(name)
        return name

    yield make
    for name in made:
        _run("dropdb", "--if-exists", "--force", name)


def restore(folder: Path, database: str, target: Path) -> Path:
    """docs/DEPLOY.md "Restore": pg_restore into the fresh database, the
    evidence folder unpacked; returns the restored private root."""
    done = _run(
        "pg_restore",
        "--no-owner",
        "--exit-on-error",
        f"--dbname={database}",
        str(folder / "db.dump"),
    )
    assert done.returncode == 0, done.stderr
    root = target / "private"
    root.mkdir(parents=True)
    with tarfile.open(folder / "evidence.tar.gz") as tar:
        tar.extractall(root, filter="data")
    return root


def verify_ledger(database: str, private_root: Path, anchor_dir: Path):
    """``manage.py verify_ledger --deep`` against the restored database, as
    the restore procedure runs it."""
    env = {
        **os.environ,
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": _url(database),
        "CELERY_BROKER_URL": "",
        "PRIVATE_STORAGE_ROOT": str(private_root),
        "DISCLOSURE_ANCHOR_DIR": str(anchor_dir),
        "DISCLOSURE_LEDGER_SIGNING_KEY": settings.DISCLOSURE_LEDGER_SIGNING_KEY,
        "DISCLOSURE_TSA_URL": "",
    }
    return subprocess.run(
        [sys.executable, "manage.py", "verify_ledger", "--deep", "--workers", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def ledger(analyst, lead, vendor, _private_storage, _ledger_anchor):
    """Two cases with evidence, and a checkpoint in the anchor directory."""
    from disclosure.cases.policies import ensure_default_policies

    ensure_default_policies()
    cases = [
        make_case(Stage.SECURED, actor=analyst, vendor=vendor),
        make_case(Stage.CLOSED, actor=analyst, vendor=vendor, lead=lead),
    ]
    checkpoints.write_checkpoint(force=True)
    assert sorted(p.name for p in _ledger_anchor.iterdir()) == ["checkpoint-00000001.json"]
    return cases


def test_a_dump_restored_into_a_fresh_database_verifies_clean(
    ledger, restored_databases, tmp_path, _private_storage, _ledger_anchor
):
    folder = backup(tmp_path / "backup", _private_storage, _ledger_anchor)
    database = restored_databases()
    root = restore(folder, database, tmp_path / "restored")
    result = verify_ledger(database, root, folder / "anchor")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "all 2 chains intact"
    assert [line.split(":")[1].strip() for line in lines if "intact," in line] == [
        f"intact, {CaseEvent.objects.filter(case=c).count()} events, head {c.ledger_head[:16]}"
        for c in sorted(
            (type(ledger[0]).objects.get(pk=c.pk) for c in ledger), key=lambda c: c.reference
        )
    ]


def test_a_restore_that_lost_the_last_hour_is_caught_against_the_anchor_directory(
    ledger, restored_databases, tmp_path, analyst, _private_storage, _ledger_anchor
):
    # Last night's backup ...
    folder = backup(tmp_path / "backup", _private_storage, _ledger_anchor)
    # ... then an hour of work: events appended and checkpointed, the new
    # checkpoint written to the (write-once, off-site) anchor directory.
    open_case = ledger[0]
    services.log_communication(
        actor=analyst, case=open_case, **inbound_kwargs(now() - timedelta(minutes=30))
    )
    checkpoints.write_checkpoint(force=True)
    assert len(list(_ledger_anchor.iterdir())) == 2
    # The database is lost and restored from the backup: the events of the
    # last hour are gone. verify_ledger against the live anchor directory:
    database = restored_databases()
    root = restore(folder, database, tmp_path / "restored")
    result = verify_ledger(database, root, _ledger_anchor)
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert (
        "LEDGER: the database has no checkpoint #2, but the anchor directory has "
        "checkpoint-00000002.json (checkpoint rows were deleted)"
    ) in out
    events_before = CaseEvent.objects.filter(case=open_case).count() - 1
    assert (
        f"{open_case.reference}: BROKEN at seq {events_before + 1}: the checkpoint vouches for "
        f"{events_before + 1} events, the chain has {events_before} (events were removed)"
    ) in out
    assert "1 of 2 chains broken" in result.stderr
