"""Where and how to ask if an asset is public: the probe URL for a case's
asset, the way its provider answers an anonymous visitor, and the verdict
on an answer.

- S3 bucket: the bucket's ListObjectsV2 (``?list-type=2``), virtual-hosted
  (path-style when the name holds dots, which break the TLS wildcard);
- Azure Blob container: ``?restype=container&comp=list`` (a private
  container answers 404 ResourceNotFound or 403 to anonymous listing);
- GCS bucket: the XML listing at ``storage.googleapis.com/<bucket>``;
- Elasticsearch: ``/_cat/indices?format=json`` on the cluster;
- anything else given as a URL: that URL; as a host name: ``https://host/``.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from disclosure.cases.models import AssetKind, AssetProvider, Case

from .models import Verdict

ELASTICSEARCH_PORT = 9200


def _is_url(value: str) -> bool:
    return value.lower().startswith(("http://", "https://"))


def _with_query(url: str, extra: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    for key, value in extra.items():
        query.setdefault(key, value)
    return urlunsplit(parts._replace(path=parts.path or "/", query=urlencode(query)))


def _host_only(value: str) -> str:
    return value.strip().strip("/").split("/", 1)[0]


def probe_url(
    *, kind: str, provider: str, identifier: str, region: str = "", override: str = ""
) -> str | None:
    """The URL to fetch for an asset of ``kind``/``provider`` named
    ``identifier``, or None when no HTTP probe can be built (a database, a
    file share given without a URL). ``override`` (staff's explicit URL) wins."""
    if override.strip():
        return override.strip()
    ident = (identifier or "").strip()
    if not ident:
        return None
    region = (region or "").strip()
    if kind == AssetKind.S3_BUCKET or (kind == AssetKind.OTHER and provider == AssetProvider.AWS):
        if _is_url(ident):
            return _with_query(ident, {"list-type": "2"})
        bucket = _host_only(ident.removeprefix("s3://"))
        endpoint = f"s3.{region}.amazonaws.com" if region else "s3.amazonaws.com"
        if "." in bucket:
            return f"https://{endpoint}/{bucket}?list-type=2"
        return f"https://{bucket}.{endpoint}/?list-type=2"
    if kind == AssetKind.BLOB_CONTAINER:
        if _is_url(ident):
            return _with_query(ident, {"restype": "container", "comp": "list"})
        account, _, container = ident.strip("/").partition("/")
        if not container:
            return None
        container = container.split("/", 1)[0]
        return f"https://{account}.blob.core.windows.net/{container}?restype=container&comp=list"
    if kind == AssetKind.GCS_BUCKET:
        if _is_url(ident):
            return ident
        bucket = _host_only(ident.removeprefix("gs://"))
        return f"https://storage.googleapis.com/{bucket}"
    if kind == AssetKind.ELASTICSEARCH_INDEX:
        if _is_url(ident):
            parts = urlsplit(ident)
            return urlunsplit((parts.scheme, parts.netloc, "/_cat/indices", "format=json", ""))
        host = _host_only(ident)
        if ":" not in host:
            host = f"{host}:{ELASTICSEARCH_PORT}"
        return f"http://{host}/_cat/indices?format=json"
    if _is_url(ident):
        return ident
    if kind in (AssetKind.DATABASE, AssetKind.FILE_SHARE) or "." not in ident or " " in ident:
        return None
    return f"https://{_host_only(ident)}/"


def case_probe_url(case: Case, override: str = "") -> str | None:
    """``probe_url`` for ``case``'s asset."""
    return probe_url(
        kind=case.asset_kind,
        provider=case.asset_provider,
        identifier=case.asset_identifier,
        region=case.asset_region,
        override=override,
    )


PUBLIC_STATUSES = range(200, 300)
# Answers that say "you may not see this" (or "not here any more").
NOT_PUBLIC_STATUSES = frozenset({401, 403, 404, 410, 451})


def verdict_for(status: int) -> Verdict:
    """What an HTTP status says about exposure: 2xx public; 401, 403, 404,
    410 and 451 not public; anything else (3xx left, 5xx, 429) an error."""
    if status in PUBLIC_STATUSES:
        return Verdict.PUBLIC
    if status in NOT_PUBLIC_STATUSES:
        return Verdict.NOT_PUBLIC
    return Verdict.ERROR
