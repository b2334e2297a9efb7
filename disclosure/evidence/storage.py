"""Private, content-addressed storage of evidence blobs.

A blob is stored once under ``sha256/<aa>/<bb>/<sha256>`` in the ``evidence``
storage, which has no URL: files reach users only through access-checked
views. The hash is computed while the upload streams in, never by reading
it twice from the client.
"""

import functools
import hashlib
import os
import tempfile
from dataclasses import dataclass
from typing import IO

import filetype
from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, storages

from disclosure.core.errors import ValidationFailed

CHUNK = 1024 * 1024
_SNIFF_BYTES = 8192


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int
    content_type: str


class PrivateFileSystemStorage(FileSystemStorage):
    """A FileSystemStorage without URLs. (The plain one falls back to
    MEDIA_URL, "/" by default, when ``base_url`` is None.)"""

    @property
    def base_url(self) -> None:
        return None

    def url(self, name):
        raise ValueError("Evidence has no URL: serve it through a view that checks access.")


@functools.cache
def _s3_storage_class():
    """PrivateS3Storage, defined only where django-storages is installed
    (it is in requirements.txt; the import stays lazy so that the local
    default needs no boto3 import at start-up)."""
    from storages.backends.s3 import S3Storage
    from storages.utils import clean_name

    class PrivateS3Storage(S3Storage):
        """S3-compatible object storage (AWS S3, SeaweedFS, MinIO ...) for
        evidence, without URLs: no public URL and no signed one either, since
        a download must pass the access check, the ledger entry and the
        integrity check (evidence.downloads) that a URL would skip. Objects
        are written private (no ACL is granted; the bucket must not be
        public)."""

        def url(self, name, parameters=None, expire=None, http_method=None):
            raise ValueError("Evidence has no URL: serve it through a view that checks access.")

        def touch(self, name: str) -> None:
            """Renew the object's modification time (a copy onto itself), so
            that the orphan sweep spares a blob an open upload reuses."""
            key = self._normalize_name(clean_name(name))
            self.bucket.meta.client.copy_object(
                Bucket=self.bucket_name,
                Key=key,
                CopySource={"Bucket": self.bucket_name, "Key": key},
                MetadataDirective="REPLACE",
            )

    return PrivateS3Storage


def __getattr__(name: str):
    # ``disclosure.evidence.storage.PrivateS3Storage`` (settings.STORAGES)
    # resolves lazily.
    if name == "PrivateS3Storage":
        return _s3_storage_class()
    raise AttributeError(name)


def evidence_storage():
    return storages["evidence"]


def blob_name(sha256: str) -> str:
    return f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def detect_content_type(head: bytes) -> str:
    """The content type from the file's first bytes, not from the client."""
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A multi-byte character cut at the end of the sniffed bytes is fine.
            if exc.start < len(head) - 3:
                return "application/octet-stream"
        stripped = head.lstrip()
        if stripped[:1] in (b"{", b"["):
            return "application/json"
        if stripped[:5].lower() in (b"<?xml", b"<svg "):
            return "application/xml"
        return "text/plain"
    return "application/octet-stream"


def store_stream(stream: IO[bytes], *, max_bytes: int | None = None) -> StoredBlob:
    """Copy ``stream`` into evidence storage under its SHA-256 and describe it.

    Reads the stream once, in chunks. Refuses an empty file and one larger
    than ``max_bytes`` (settings.EVIDENCE_MAX_BYTES by default) with
    ValidationFailed; nothing is stored then. Storing a blob that exists
    already keeps the one copy and renews its modification time, so that
    the orphan sweep (evidence.sweep) leaves it alone while this upload's
    transaction is open.
    """
    limit = settings.EVIDENCE_MAX_BYTES if max_bytes is None else max_bytes
    digest = hashlib.sha256()
    size = 0
    head = b""
    with tempfile.TemporaryFile() as tmp:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise ValidationFailed(
                    f"The file is larger than the {limit:,} bytes allowed.", field="file"
                )
            if len(head) < _SNIFF_BYTES:
                head += chunk[: _SNIFF_BYTES - len(head)]
            digest.update(chunk)
            tmp.write(chunk)
        if size == 0:
            raise ValidationFailed("The file is empty.", field="file")
        sha256 = digest.hexdigest()
        storage = evidence_storage()
        name = blob_name(sha256)
        if storage.exists(name):
            _touch(storage, name)
        else:
            tmp.seek(0)
            saved = storage.save(name, File(tmp))
            if saved != name:  # a concurrent upload of the same blob won the race
                storage.delete(saved)
    return StoredBlob(sha256=sha256, size=size, content_type=detect_content_type(head))


def _touch(storage, name: str) -> None:
    """Renew a stored blob's modification time (a local file's, or an
    object's through ``PrivateS3Storage.touch``)."""
    if hasattr(storage, "touch"):
        storage.touch(name)
        return
    try:
        path = storage.path(name)
    except NotImplementedError:
        return
    os.utime(path)


def open_blob(sha256: str) -> IO[bytes]:
    """Open a stored blob for reading (for access-checked downloads and exports)."""
    return evidence_storage().open(blob_name(sha256), "rb")
