"""Private, content-addressed evidence storage: hash while streaming, one blob
per content, type from the bytes, no URL."""

import hashlib
import io
import random
import struct
import zlib

import pytest
from django.core.files.storage import storages
from django.test import Client

from disclosure.core.errors import ValidationFailed
from disclosure.evidence import storage
from disclosure.evidence.storage import (
    blob_name,
    detect_content_type,
    open_blob,
    store_stream,
)


def png_bytes() -> bytes:
    """A valid one-pixel PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


RANDOM = random.Random(1234).randbytes(4096)


class OneWayStream(io.RawIOBase):
    """An upload as it arrives: read once, front to back, no seeking."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)
        self.reads = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size=-1):
        self.reads += 1
        return self._data.read(size)

    def seek(self, *args):
        raise io.UnsupportedOperation("an upload cannot be rewound")

    def tell(self):
        raise io.UnsupportedOperation("an upload cannot be rewound")


def stored_files(root) -> list:
    base = root / "evidence"
    return sorted(p for p in base.rglob("*") if p.is_file()) if base.exists() else []


def test_hash_is_computed_while_streaming(monkeypatch, _private_storage):
    monkeypatch.setattr(storage, "CHUNK", 1000)
    data = RANDOM * 3  # 12,288 bytes: thirteen chunks
    stream = OneWayStream(data)
    blob = store_stream(stream)
    assert blob.sha256 == hashlib.sha256(data).hexdigest()
    assert blob.size == len(data)
    assert stream.reads == 14  # thirteen chunks and the empty read at the end: one pass
    assert (_private_storage / "evidence" / blob_name(blob.sha256)).read_bytes() == data


def test_blob_is_stored_under_its_hash_in_the_private_folder(_private_storage):
    data = b"exposed customer list\n"
    digest = hashlib.sha256(data).hexdigest()
    blob = store_stream(io.BytesIO(data))
    assert blob_name(digest) == f"sha256/{digest[:2]}/{digest[2:4]}/{digest}"
    path = _private_storage / "evidence" / "sha256" / digest[:2] / digest[2:4] / digest
    assert stored_files(_private_storage) == [path]
    assert path.read_bytes() == data
    with open_blob(blob.sha256) as fh:
        assert fh.read() == data


def test_the_same_content_is_stored_once(_private_storage):
    first = store_stream(io.BytesIO(b"same bytes"))
    second = store_stream(io.BytesIO(b"same bytes"))
    assert first == second
    assert len(stored_files(_private_storage)) == 1


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (png_bytes(), "image/png"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "application/pdf"),
        (b"user@contoso.example;Contoso;+1 555 0100\n", "text/plain"),
        ("Zürich, Genève — données\n".encode(), "text/plain"),
        (b'  {"records": 335000, "kind": "emails"}', "application/json"),
        (b'[{"id": 1}]', "application/json"),
        (b'<?xml version="1.0"?><a/>', "application/xml"),
        (RANDOM, "application/octet-stream"),
        (b"\xff\xfe\xfa not utf-8 at all, and long enough to count", "application/octet-stream"),
    ],
    ids=["png", "pdf", "text", "utf8-text", "json-object", "json-array", "xml", "random", "latin"],
)
def test_content_type_comes_from_the_bytes(data, content_type):
    assert detect_content_type(data) == content_type
    assert store_stream(io.BytesIO(data)).content_type == content_type


def test_a_multibyte_character_cut_by_the_sniffer_is_still_text():
    head = ("a" * 8190 + "é").encode()[:8192]  # ends in the first byte of "é"
    assert detect_content_type(head) == "text/plain"


def test_empty_file_is_refused_and_nothing_stored(_private_storage):
    with pytest.raises(ValidationFailed, match="empty") as exc:
        store_stream(io.BytesIO(b""))
    assert exc.value.field == "file"
    assert stored_files(_private_storage) == []


def test_oversized_file_is_refused_and_nothing_stored(settings, _private_storage):
    settings.EVIDENCE_MAX_BYTES = 10
    with pytest.raises(ValidationFailed, match="larger than the 10 bytes"):
        store_stream(io.BytesIO(b"x" * 11))
    assert stored_files(_private_storage) == []
    assert store_stream(io.BytesIO(b"x" * 10)).size == 10
    with pytest.raises(ValidationFailed, match="larger than the 4 bytes"):
        store_stream(io.BytesIO(b"x" * 5), max_bytes=4)
    assert len(stored_files(_private_storage)) == 1


def test_oversized_stream_is_not_read_to_the_end(settings, monkeypatch):
    settings.EVIDENCE_MAX_BYTES = 2500
    monkeypatch.setattr(storage, "CHUNK", 1000)
    stream = OneWayStream(b"x" * 100_000)
    with pytest.raises(ValidationFailed):
        store_stream(stream)
    assert stream.reads == 3


def shipped_storage(alias, tmp_path):
    """The storage exactly as settings.py configures it (the autouse fixture
    in conftest swaps in its own), rooted in a temporary folder."""
    from disclosure import settings as project

    config = project.STORAGES[alias]
    return storages.create_storage(
        {**config, "OPTIONS": {**config["OPTIONS"], "location": tmp_path / alias}}
    )


@pytest.mark.parametrize("alias", ["evidence", "default"])
def test_the_shipped_storages_have_no_url(alias, tmp_path, settings):
    settings.MEDIA_URL = "/media/"  # even with a MEDIA_URL to fall back on
    s = shipped_storage(alias, tmp_path)
    assert s.base_url is None
    name = s.save(blob_name("a" * 64), io.BytesIO(b"rows"))
    with pytest.raises(ValueError, match="no URL"):
        s.url(name)


def test_shipped_evidence_storage_keeps_files_private_on_disk(tmp_path):
    s = shipped_storage("evidence", tmp_path)
    name = s.save(blob_name("b" * 64), io.BytesIO(b"rows"))
    path = tmp_path / "evidence" / name
    assert path.stat().st_mode & 0o777 == 0o640
    assert path.parent.stat().st_mode & 0o777 == 0o750


@pytest.mark.django_db
def test_no_url_serves_the_private_folder(_private_storage):
    blob = store_stream(io.BytesIO(b"secret rows\n"))
    name = blob_name(blob.sha256)
    client = Client()
    for path in (
        f"/media/{name}",
        f"/{name}",
        f"/evidence/{name}",
        f"/private/evidence/{name}",
        f"/var/private/evidence/{name}",
        f"/static/../var/private/evidence/{name}",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert b"secret rows" not in response.content
