"""Local endpoints of the ``make run`` demo, mounted at ``/demo/`` in debug
mode only (disclosure/urls.py): an "exposed asset" the re-probes fetch, and
a webhook receiver that checks each delivery's signature.

They let ``manage.py run_watchers`` show, on one machine with no network,
a re-probe changing a demo case's probe status and a webhook delivery in the
log. Nothing here is reachable in production (DEBUG off)."""

from __future__ import annotations

import time

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from disclosure.webhooks.signing import SIGNATURE_HEADER, verify

# The demo subscription's secret (published like the demo password).
DEMO_WEBHOOK_SECRET = "disclosure-demo-webhook-secret"

_S3_DENIED = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    "<Message>Access Denied</Message></Error>\n"
)
_AZURE_LISTING = (
    '<?xml version="1.0" encoding="utf-8"?>\n<EnumerationResults ContainerName="exports">'
    "<Blobs><Blob><Name>payroll-2026-10.csv</Name></Blob></Blobs></EnumerationResults>\n"
)

# name -> (HTTP status, body): how each demo asset answers an anonymous request.
ASSETS: dict[str, tuple[int, str]] = {
    # Contoso closed its backup bucket: S3's answer to an anonymous listing.
    "contoso-db-backups-eu": (403, _S3_DENIED),
    # Fabrikam's HR container is still listed to anyone.
    "fabrikamhr-exports": (200, _AZURE_LISTING),
}


@require_GET
def asset(request: HttpRequest, name: str) -> HttpResponse:
    """The demo asset ``name`` as its provider answers an anonymous listing."""
    if name not in ASSETS:
        return HttpResponse("No such demo asset.\n", status=404, content_type="text/plain")
    status, body = ASSETS[name]
    return HttpResponse(body, status=status, content_type="application/xml")


@csrf_exempt
@require_POST
def webhook_receiver(request: HttpRequest) -> HttpResponse:
    """Accept a webhook delivery signed with the demo secret (204), refuse
    any other (401), as a real receiver would (docs/webhooks.md)."""
    header = request.headers.get(SIGNATURE_HEADER, "")
    if not verify(DEMO_WEBHOOK_SECRET, header, request.body, now=int(time.time())):
        return HttpResponse("Bad signature.\n", status=401, content_type="text/plain")
    return HttpResponse(status=204)
