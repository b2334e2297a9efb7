"""Benchmark of the legal timeline export: wall time and peak memory of the
export renderer beside the naive render, in the same run.

    .venv/bin/python bench/export.py                 # 1,000, 5,000 and 10,000 events
    .venv/bin/python bench/export.py 2000            # other sizes

For each size it builds a bundle of that many events, hash-chained like the
ledger's, with communications (one per 10 events, ~700-character bodies) and
evidence files (one per 20 events) in proportion, a stage table, an
attestation, a dispute and a checkpoint. The bundle is built in memory (the
renderer reads nothing else), then rendered, each render in a fresh process:

- ``export``: disclosure.exports.render.render_pdf (fixed table layouts,
  lean markup; more than SPLIT_EVENTS events in parallel parts joined with
  pypdf, "page X of Y" stamped, PDF/A-3b with the JSON attached);
- ``naive``: one document with one default-layout (auto) table of the same
  events (seq, kind, actor, occurred, recorded, summary, hash), plus the
  communications, rendered by WeasyPrint in one process.

Peak memory is each render process's maximum resident set (ru_maxrss): the
export's parent and every worker it started. The target: 10,000 events at
least 3 times faster than naive, and no render process over 400 MB.
"""

import hashlib
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "disclosure.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")  # a benchmark is development: debug on explicitly

SIZES = (1000, 5000, 10000)
KINDS = (
    "communication_logged", "note_added", "evidence_attached", "details_updated",
    "vendor_acknowledged", "escalated", "correction", "evidence_shared",
)  # fmt: skip
WORDS = (
    "container",
    "listing",
    "blob",
    "exposed",
    "vendor",
    "customer",
    "records",
    "confirmed",
    "secured",
    "access",
    "anonymous",
    "retest",
    "deletion",
    "attestation",
    "dispute",
    "statement",
    "counsel",
    "advisory",
    "regulator",
)


def _text(i: int, n: int) -> str:
    return " ".join(WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(n))


def make_bundle(n: int) -> dict:
    """A bundle of ``n`` events (hash-chained), with records in proportion."""
    from disclosure.core.canonical import canonical_json, to_json_value
    from disclosure.core.timeutils import iso_utc

    start = datetime(2022, 9, 24, 7, 0, tzinfo=UTC)
    actor = {"id": 7, "name": "Sam Okafor", "organization": "Disclosure Research", "role": "lead"}
    events, prev = [], "0" * 64
    for i in range(1, n + 1):
        kind = "case_opened" if i == 1 else KINDS[i % len(KINDS)]
        when = iso_utc(start + timedelta(minutes=10 * i))
        payload = {"note": _text(i, 12 + i % 9), "subject": _text(i + 1, 6), "direction": "inbound"}
        body = {
            "v": 1,
            "case": "DSC-2022-0001",
            "seq": i,
            "kind": kind,
            "occurred_at": when,
            "recorded_at": when,
            "actor": actor,
            "payload": payload,
            "internal": False,
            "state": "5" * 64,
            "prev_hash": prev,
        }
        prev = hashlib.sha256(prev.encode() + canonical_json(body)).hexdigest()
        events.append({**body, "hash": prev})
    comms = [
        {
            "id": c,
            "direction": "inbound",
            "channel": "email",
            "sender": "security@contoso.example",
            "recipients": ["research@firm.example"],
            "subject": _text(c, 8),
            "body": (_text(c, 25) + ".\n") * 4,
            "body_sha256": "b" * 64,
            "occurred_at": iso_utc(start + timedelta(hours=c)),
            "attachments_sha256": [],
        }
        for c in range(1, n // 10 + 1)
    ]
    evidence = [
        {
            "id": f,
            "sha256": hashlib.sha256(str(f).encode()).hexdigest(),
            "size": 1000 + f,
            "content_type": "image/png",
            "original_name": f"capture-{f}.png",
            "kind": "screenshot",
            "uploaded_at": iso_utc(start + timedelta(hours=f)),
            "captured_at": None,
            "description": "",
            "internal": False,
        }
        for f in range(1, n // 20 + 1)
    ]
    stages = [
        {
            "stage": s,
            "label": s.replace("_", " ").capitalize(),
            "occurred_at": iso_utc(start + timedelta(days=d)),
            "recorded_at": iso_utc(start + timedelta(days=d)),
            "seq": d + 1,
            "late": False,
            "override": None,
            "corrections": [],
            "since_previous_seconds": 86400 if d else None,
        }
        for d, s in enumerate(("found", "vendor_notified", "secured", "data_deleted"))
    ]
    bundle = {
        "format": "disclosure-export", "v": 1, "variant": "full", "communications": "full",
        "generated_at": iso_utc(start + timedelta(days=400)),
        "case": {
            "reference": "DSC-2022-0001", "title": "Publicly listable Azure Blob container",
            "summary": _text(1, 40), "vendor": "Contoso", "tlp": "TLP:AMBER",
            "time_zone": "Europe/Berlin", "firm": "Disclosure Research", "stage": "data_deleted",
            "how_found": "Scanner", "stages": stages,
        },
        "chain": {"seq": n, "head": prev},
        "events": events,
        "records": {
            "communications": comms, "evidence": evidence,
            "attestation": {
                "id": 1, "items": [{"path": "copies/a.tar", "bytes": 1, "sha256": "c" * 64}],
                "total_bytes": 1, "method": "purge", "tool": "shred", "content_sha256": "d" * 64,
                "retained_metadata": ["domain"], "performed_at": stages[-1]["occurred_at"],
                "verification": "checked", "performed_by_name": "Sam Okafor",
            },
            "disputes": [], "escalations": [],
        },
        "checkpoint": None,
        "inclusion_proof": None,
    }  # fmt: skip
    return to_json_value(bundle)


NAIVE_HTML = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>{ref}</title>
<style>@page {{ size: A4; margin: 18mm 14mm;
 @bottom-right {{ content: "page " counter(page) " of " counter(pages) }} }}
body {{ font: 8pt "DejaVu Sans" }} table {{ border-collapse: collapse; width: 100% }}
td, th {{ border-bottom: 0.3pt solid #ccc; text-align: left; vertical-align: top }}
code {{ font: 6pt "DejaVu Sans Mono" }}</style></head><body><h1>{ref}</h1>
<table><thead><tr><th>Seq</th><th>Kind</th><th>Actor</th><th>Occurred</th><th>Recorded</th>
<th>What</th><th>Hash</th></tr></thead><tbody>{rows}</tbody></table>
<h1>Communications</h1>{comms}</body></html>"""


def naive_html(bundle: dict) -> str:
    from html import escape

    rows = "".join(
        f"<tr><td>{e['seq']}</td><td>{e['kind']}</td><td>{escape(e['actor']['name'])}</td>"
        f"<td>{e['occurred_at']}</td><td>{e['recorded_at']}</td>"
        f"<td>{escape(e['payload']['note'])}</td><td><code>{e['hash']}</code></td></tr>"
        for e in bundle["events"]
    )
    comms = "".join(
        f"<div><b>{escape(c['subject'])}</b><p>{escape(c['body'])}</p></div>"
        for c in bundle["records"]["communications"]
    )
    return NAIVE_HTML.format(ref=bundle["case"]["reference"], rows=rows, comms=comms)


def one(kind: str, n: int) -> dict:
    """In a fresh process: build the bundle, time one render."""
    import resource

    import django

    django.setup()
    bundle = make_bundle(n)
    cpu0 = time.process_time()
    timings, workers_cpu = {}, 0.0
    if kind == "naive":
        from weasyprint import HTML

        html = naive_html(bundle)
        t = time.perf_counter()
        data = HTML(string=html).write_pdf()
        wall = time.perf_counter() - t
        peaks = [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024]
        pages = None
    else:
        from disclosure.exports import render

        t = time.perf_counter()
        result = render.render_pdf(bundle)
        wall = time.perf_counter() - t
        data, peaks, pages = result.data, result.peak_rss_mb, result.pages
        timings, workers_cpu = result.timings, result.worker_cpu_seconds
    return {
        "kind": kind, "n": n, "wall": wall, "peaks": peaks, "bytes": len(data), "pages": pages,
        "cpu": time.process_time() - cpu0 + workers_cpu, "timings": timings,
    }  # fmt: skip


def run(kind: str, n: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--one", kind, str(n)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> None:
    if argv[:1] == ["--one"]:
        print(json.dumps(one(argv[1], int(argv[2]))))
        return
    sizes = [int(a) for a in argv] or list(SIZES)
    print(
        f"{'events':>7} {'render':>7} {'wall s':>8} {'CPU s':>7} {'peak MB':>8} {'parts':>6} "
        f"{'pages':>6} {'MB out':>7}  speed-up (wall)  phases (s from start)"
    )
    for n in sizes:
        export = run("export", n)
        naive = run("naive", n)
        for r in (export, naive):
            speed = f"{naive['wall'] / export['wall']:.2f}x" if r is export else ""
            phases = " ".join(f"{k}={v:.1f}" for k, v in r["timings"].items())
            print(
                f"{n:>7} {r['kind']:>7} {r['wall']:>8.1f} {r['cpu']:>7.1f} "
                f"{max(r['peaks']):>8.0f} {len(r['peaks']):>6} {r['pages'] or '':>6} "
                f"{r['bytes'] / 1e6:>7.2f}  {speed:>15}  {phases}",
                flush=True,
            )


if __name__ == "__main__":
    main(sys.argv[1:])
