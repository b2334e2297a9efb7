"""The demo's watchers: re-probe schedules and a webhook subscription that
point at the local endpoints of ``demo.endpoints``, so that
``manage.py run_watchers`` beside ``make run`` shows a re-probe changing a
demo case's probe status and a webhook delivery in the log.

``ensure_demo_watchers`` guarantees, through the services (each change a
ledger event where the service makes one), and changing nothing on a rerun:

- the notified S3 case is re-probed at ``/demo/assets/contoso-db-backups-eu/``
  (which answers like a closed bucket) and the silent Azure case at
  ``/demo/assets/fabrikamhr-exports/`` (still public);
- every other demo case the probes would pick up is paused: its asset is
  fictional, and probing it would only time out;
- one internal subscription, "Demo receiver", sends every event to
  ``/demo/webhook-receiver/``, signed with ``DEMO_WEBHOOK_SECRET``.
"""

from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import transaction

from disclosure.cases.models import Case
from disclosure.core.errors import ValidationFailed
from disclosure.core.guarded_http import FetchRefused
from disclosure.core.timeutils import now
from disclosure.probes.models import ProbeSchedule
from disclosure.probes.runs import eligible_cases
from disclosure.probes.services import default_interval, update_schedule
from disclosure.webhooks.models import WebhookSubscription
from disclosure.webhooks.services import create_subscription

from .endpoints import ASSETS, DEMO_WEBHOOK_SECRET
from .scripts import Cast

# demo case title -> the demo asset its re-probes fetch
PROBED = {
    "Public S3 bucket with nightly database backups": "contoso-db-backups-eu",
    "Azure blob container with HR exports, vendor silent": "fabrikamhr-exports",
}
RECEIVER_NAME = "Demo receiver"


def demo_site() -> str:
    """The site's URL with a host name rather than a loopback literal: the
    guarded client refuses a literal private address when the URL is saved,
    and checks the address the name resolves to when it fetches (allowed in
    the demo by DISCLOSURE_FETCH_ALLOWED_NETWORKS, see the Makefile)."""
    parts = urlsplit(settings.DISCLOSURE_SITE_URL.rstrip("/"))
    host = parts.hostname or "localhost"
    if host in ("127.0.0.1", "::1"):
        netloc = "localhost" + (f":{parts.port}" if parts.port else "")
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


def ensure_demo_watchers(cast: Cast) -> list[str]:
    """See the module docstring. Returns the demo endpoints left out because
    the guarded client may not reach this machine (``make seed`` allows it;
    the rest of the demo is seeded all the same)."""
    site = demo_site()
    skipped: list[str] = []
    demo_cases = Case.objects.filter(vendor__in=[cast.contoso, cast.fabrikam])
    for case in demo_cases.filter(eligible_cases(now())).order_by("pk"):
        asset = PROBED.get(case.title)
        if asset is not None:
            assert asset in ASSETS
            url, paused = f"{site}/demo/assets/{asset}/", False
        else:
            url, paused = "", True
        existing = ProbeSchedule.objects.filter(case=case).first()
        interval = existing.interval_hours if existing else default_interval()
        try:
            with transaction.atomic():
                update_schedule(
                    actor=cast.analyst, case=case, paused=paused, interval_hours=interval, url=url
                )
        except FetchRefused:  # this machine is not among DISCLOSURE_FETCH_ALLOWED_NETWORKS
            skipped.append(url)
    if not WebhookSubscription.objects.filter(name=RECEIVER_NAME).exists():
        receiver = f"{site}/demo/webhook-receiver/"
        try:
            with transaction.atomic():
                create_subscription(
                    actor=cast.admin,
                    name=RECEIVER_NAME,
                    url=receiver,
                    secret=DEMO_WEBHOOK_SECRET,
                    internal=True,
                )
        except ValidationFailed as exc:  # the service names a refused address as a URL error
            if exc.field != "url":
                raise
            skipped.append(receiver)
    return skipped
