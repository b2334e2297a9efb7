"""The case page's tabs: the timeline (newest first, paginated, with actors,
both times and hashes), communications, evidence, the deletion attestation,
disputes, escalations and follow-ups; and the page's query count, which does
not grow with the length of the ledger."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from disclosure.affected.services import file_dispute
from disclosure.cases import services
from disclosure.comms.services import log_communication
from disclosure.core.timeutils import now
from disclosure.evidence.services import countersign_attestation
from tests.factories import capture, inbound_kwargs, make_case

pytestmark = pytest.mark.django_db

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def add_messages(case, actor, n: int):
    """``n`` inbound messages: one ledger event each."""
    for i in range(n):
        log_communication(
            actor=actor,
            case=case,
            **inbound_kwargs(START + timedelta(days=1, minutes=i), subject=f"Reply {i + 1}"),
        )


# --- timeline -------------------------------------------------------------


def test_timeline_rows_newest_first_with_actor_times_and_hash(client, analyst, lead, vendor):
    analyst.first_name, analyst.last_name = "Ana", "Lyst"
    analyst.save()
    case = make_case("found", actor=analyst, vendor=vendor, start=START, time_zone="Asia/Tokyo")
    client.force_login(lead)
    response = client.get(f"/cases/{case.reference}/")
    entries = response.context["timeline"].entries
    assert [(e.event.seq, e.label) for e in entries] == [
        (3, "Evidence attached"),
        (2, "Internal details recorded"),
        (1, "Case opened"),
    ]
    first = case.events.get(seq=1)
    html = response.content.decode()
    row = html[html.index('<tr id="event-1"') :]
    row = row[: row.index("</tr>")]
    assert '<td data-label="Actor">Ana Lyst<br><small>Research Firm</small></td>' in row
    # found at 09:00 UTC = 18:00 in Tokyo
    assert (
        '<time datetime="2026-01-05T09:00:00Z" class="case-time">'
        '2026-01-05 18:00 JST <span class="utc">(2026-01-05 09:00 UTC)</span></time>'
    ) in row
    recorded = first.recorded_at.astimezone(UTC)
    assert f'<span class="utc">({recorded:%Y-%m-%d %H:%M} UTC)</span>' in row
    assert f'<summary title="{first.hash}"><code>{first.hash[:12]}…</code></summary>' in row
    assert f'<code class="hash">{first.hash}</code>' in row
    assert (
        '<small class="badge badge-internal">internal</small>'
        in (html[html.index('<tr id="event-2"') :])
    )


def test_timeline_pages_of_fifty_and_a_capped_size(client, analyst, vendor):
    case = make_case("found", actor=analyst, vendor=vendor, start=START)
    add_messages(case, analyst, 57)  # 3 + 57 = 60 events
    client.force_login(analyst)
    url = f"/cases/{case.reference}/"

    def seqs(query=""):
        entries = client.get(url + query).context["timeline"].entries
        return [e.event.seq for e in entries]

    assert seqs() == list(range(60, 10, -1))
    assert seqs("?page=2") == list(range(10, 0, -1))
    assert seqs("?page=99") == list(range(10, 0, -1))  # past the end: the last page
    assert seqs("?page=x") == list(range(60, 10, -1))
    assert seqs("?size=7&page=3") == list(range(46, 39, -1))
    assert seqs("?size=abc") == list(range(60, 10, -1))
    assert seqs("?size=0") == [60]  # at least one
    assert len(seqs("?size=100000")) == 60  # capped at 200, all of these
    html = client.get(url + "?page=2").content.decode()
    assert "Page 2 of 2" in html
    assert '<a href="?page=1&amp;size=50#timeline"' in html and 'rel="prev"' in html


def test_size_is_capped_at_200(client, analyst, vendor):
    case = make_case("found", actor=analyst, vendor=vendor, start=START)
    add_messages(case, analyst, 200)  # 203 events
    client.force_login(analyst)
    response = client.get(f"/cases/{case.reference}/?size=1000")
    timeline = response.context["timeline"]
    assert timeline.size == 200 and len(timeline.entries) == 200
    assert timeline.page.paginator.num_pages == 2


def test_htmx_page_change_renders_the_timeline_alone(client, analyst, vendor):
    case = make_case("found", actor=analyst, vendor=vendor, start=START)
    add_messages(case, analyst, 57)
    client.force_login(analyst)
    response = client.get(
        f"/cases/{case.reference}/?page=2", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="timeline"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="timeline"')
    assert "<html" not in html and 'id="event-10"' in html and 'id="event-11"' not in html
    assert "HX-Target" in response["Vary"]
    restore = client.get(
        f"/cases/{case.reference}/?page=2",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="timeline",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )
    assert "<html" in restore.content.decode()  # history restore wants the whole page


def test_correction_on_another_page_links_to_that_page(client, analyst, vendor):
    case = make_case("found", actor=analyst, vendor=vendor, start=START)
    add_messages(case, analyst, 57)
    services.correct_event(actor=analyst, case=case, seq=2, reason="Typo.", statement="Fixed.")
    client.force_login(analyst)
    first = client.get(f"/cases/{case.reference}/").context["timeline"].entries[0]
    assert (first.event.seq, first.corrects.seq) == (61, 2)
    assert first.corrects.href == "?page=2&size=50#event-2"
    second = client.get(f"/cases/{case.reference}/?page=2").context["timeline"].entries
    corrected = next(e for e in second if e.event.seq == 2)
    assert [(c.seq, c.href) for c in corrected.corrected_by] == [(61, "?page=1&size=50#event-61")]


# --- the other tabs ----------------------------------------------------------


def test_communications_with_their_attachments(client, analyst, vendor):
    case = make_case("found", actor=analyst, vendor=vendor, start=START)
    log_communication(
        actor=analyst,
        case=case,
        **inbound_kwargs(
            START + timedelta(hours=2),
            subject="Our answer",
            attachments=[capture(b"their log", name="log.txt", kind="attachment")],
        ),
    )
    client.force_login(analyst)
    response = client.get(f"/cases/{case.reference}/communications/")
    (message,) = response.context["communications"]
    attachment = message.attachments.get()
    html = response.content.decode()
    assert "<strong>Our answer</strong>" in html
    assert "From security@contoso.example to research@firm.example" in html
    assert (
        f'<a href="/cases/{case.reference}/evidence/{attachment.pk}/" download>log.txt</a>' in html
    )
    # The body is readable in place, not behind a click.
    assert '<pre class="message-body">It is closed now.</pre>' in html


def test_evidence_table(client, analyst, vendor):
    analyst.first_name, analyst.last_name = "Ana", "Lyst"
    analyst.save()
    case = make_case("found", actor=analyst, vendor=vendor, start=START)
    client.force_login(analyst)
    response = client.get(f"/cases/{case.reference}/evidence/")
    (f,) = response.context["evidence"]
    html = response.content.decode()
    row = html[html.index(f'<tr id="evidence-{f.pk}"') :]
    row = row[: row.index("</tr>")]
    # "listing of the exposed container\n": 33 bytes
    sha = "72e51fad527f49e33c380509a5c5ae8ec778cf3c27140bcc8ea8aa5bf524861e"
    assert f'<a href="/cases/{case.reference}/evidence/{f.pk}/" download>capture.txt</a>' in row
    assert "<td>Exposure capture<br><small>text/plain</small></td>" in row
    assert "<td>33 bytes</td>" in row
    assert f'<td><code class="hash">{sha}</code></td>' in row
    assert "<td>Ana Lyst</td>" in row


def test_attestation_with_its_nist_fields_and_countersignature(
    client, analyst, lead, vendor, vendor_contact
):
    lead.first_name, lead.last_name = "Lena", "Lead"
    lead.save()
    case = make_case("data_deleted", actor=analyst, vendor=vendor, verifier=lead, start=START)
    client.force_login(analyst)
    html = client.get(f"/cases/{case.reference}/attestation/").content.decode()
    section = html[html.index('<section id="attestation"') :]
    section = section[: section.index("</section>")]
    for fact in (
        "<dt>Method</dt><dd>Purge</dd>",
        "<dt>Tool</dt><dd>shred 9.1</dd>",
        "<dt>Verified by</dt><dd>Lena Lead</dd>",
        "<dt>Verification</dt><dd>Checked the volume; no file remains.</dd>",
        "<dt>Total</dt><dd>1.0 kB (1,024 bytes)</dd>",
        "<dt>Retained metadata</dt><dd>domain, company name</dd>",
        "<dt>Reason for retaining</dt><dd>To answer affected companies&#x27; questions.</dd>",
        "<dd>Not countersigned</dd>",
        "<td><code>copies/container.tar</code></td><td>1.0 kB (1,024 bytes)</td>",
        f'<td><code class="hash">{"a" * 64}</code></td>',
    ):
        assert fact in section, fact
    assert "<dt>Performed by</dt>" in section and "2026-01-05 12:00 UTC" in section

    vendor_contact.first_name, vendor_contact.last_name = "Vera", "Vendor"
    vendor_contact.save()
    countersign_attestation(actor=vendor_contact, case=case, statement="We confirm.")
    html = client.get(f"/cases/{case.reference}/attestation/").content.decode()
    assert "<dt>Countersignature</dt>\n    <dd>Vera Vendor, <time" in html
    assert ": “We confirm.”</dd>" in html


def test_disputes_escalations_and_follow_ups(client, analyst, lead, vendor):
    case = make_case("secured", actor=lead, vendor=vendor, start=START)
    file_dispute(
        actor=analyst,
        case=case,
        subject="Number of affected entities",
        firm_position="65,000 entities",
        firm_provenance="Our count of distinct domains",
        vendor_position="Far fewer",
        vendor_provenance="Their press statement",
    )
    services.escalate(
        actor=lead,
        case=case,
        target="cert",
        organization="CERT-EU",
        reason="No answer from the vendor.",
        escalated_at=START + timedelta(days=1),
        their_reference="CERT-123",
    )
    follow_up = services.open_follow_up(
        actor=analyst,
        case=case,
        found_at=now() - timedelta(hours=1),
        how_found="Re-scan",
        exposure_evidence=[capture(b"open again")],
    )
    client.force_login(analyst)
    html = client.get(f"/cases/{case.reference}/disputes/").content.decode()
    assert "<strong>Number of affected entities</strong> · Open" in html
    assert "<h3>Firm's position</h3><p>65,000 entities</p>" in html
    assert "<small>Source: Our count of distinct domains</small>" in html
    assert "<h3>Vendor's position</h3><p>Far fewer</p>" in html
    assert "<small>Source: Their press statement</small>" in html
    html = client.get(f"/cases/{case.reference}/escalations/").content.decode()
    assert "<td>CERT-EU<br><small>CERT / CSIRT</small></td><td>CERT-123</td>" in html
    ref = follow_up.reference
    html = client.get(f"/cases/{case.reference}/follow-ups/").content.decode()
    assert f'<li><a href="/cases/{ref}/">{ref}</a> Re-exposure: Exposed bucket' in html
    back = client.get(f"/cases/{follow_up.reference}/follow-ups/").content.decode()
    assert f'This case follows up <a href="/cases/{case.reference}/">{case.reference}</a>' in back


# --- query counts -----------------------------------------------------------

# Measured, the timeline tab (the case's own URL): session, user, memberships,
# case; corrections, stage events, open evidence integrity alarms; the tab
# links' counts (events, communications, evidence, disputes, escalations); the
# timeline's count and page; whether the viewer watches the case (the
# header's toggle); whether a secured case's "secured" is the vendor's
# unconfirmed claim; the re-probe panel's schedule and last result (one
# query); whose turn it is (the last message each way). (18) Each tab reads
# only its own records.
PAGE_QUERIES = 18
TAB_QUERIES = {  # the whole page, and the panel alone for htmx (measured)
    "timeline": (18, 12),
    "communications": (19, 12),  # the page of messages and their attachments
    "evidence": (18, 11),
    "attestation": (18, 11),  # the attestation and its evidence files
    "disputes": (17, 10),
    "escalations": (17, 10),
    "follow-ups": (18, 11),  # the follow-up cases and the case followed up
}


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_query_count_does_not_grow_with_the_ledger(
    client, analyst, lead, vendor, django_assert_max_num_queries
):
    short = make_case("closed", actor=analyst, lead=lead, vendor=vendor, start=START)
    long = make_case("closed", actor=analyst, lead=lead, vendor=vendor, start=START)
    add_messages(long, analyst, 290)
    assert (short.events.count(), long.events.count()) == (10, 300)
    client.force_login(analyst)
    with django_assert_max_num_queries(PAGE_QUERIES):
        client.get(f"/cases/{short.reference}/")
    with django_assert_max_num_queries(PAGE_QUERIES):
        client.get(f"/cases/{long.reference}/")
    assert count_queries(client, f"/cases/{short.reference}/") == count_queries(
        client, f"/cases/{long.reference}/"
    )
    assert count_queries(client, f"/cases/{long.reference}/?page=6") == count_queries(
        client, f"/cases/{short.reference}/"
    )


def test_query_count_does_not_grow_with_the_records_of_the_tabs(
    client, analyst, lead, vendor, vendor_contact, django_assert_max_num_queries
):
    bare = make_case("data_deleted", actor=lead, vendor=vendor, start=START)
    full = make_case("data_deleted", actor=lead, vendor=vendor, start=START)
    for i in range(3):
        log_communication(
            actor=analyst,
            case=full,
            **inbound_kwargs(
                START + timedelta(days=1, minutes=i),
                attachments=[capture(f"file {i}".encode(), name=f"f{i}.txt", kind="attachment")],
            ),
        )
        file_dispute(
            actor=analyst,
            case=full,
            subject=f"Claim {i}",
            firm_position="A",
            firm_provenance="B",
            vendor_position="C",
            vendor_provenance="D",
        )
        services.escalate(
            actor=lead,
            case=full,
            target="regulator",
            organization=f"Regulator {i}",
            reason="Silence.",
            escalated_at=START + timedelta(days=2, minutes=i),
        )
        services.open_follow_up(
            actor=analyst,
            case=full,
            found_at=now() - timedelta(hours=i + 1),
            how_found="Re-scan",
            exposure_evidence=[capture(f"open again {i}".encode())],
        )
    countersign_attestation(actor=vendor_contact, case=full, statement="Confirmed.")
    client.force_login(analyst)
    for tab, (whole, panel) in TAB_QUERIES.items():
        url = f"/cases/{{}}/{tab}/"
        with django_assert_max_num_queries(whole):
            client.get(url.format(full.reference))
        with django_assert_max_num_queries(panel):
            client.get(
                url.format(full.reference), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="tab-panel"
            )
        assert count_queries(client, url.format(full.reference)) == count_queries(
            client, url.format(bare.reference)
        ), tab
    page = client.get(f"/cases/{full.reference}/communications/").context
    assert len(page["communications"]) == 4
    assert len(client.get(f"/cases/{full.reference}/disputes/").context["disputes"]) == 3
    assert len(client.get(f"/cases/{full.reference}/escalations/").context["escalations"]) == 3
    follow_ups = client.get(f"/cases/{full.reference}/follow-ups/").context["follow_ups"]
    assert len(follow_ups) == 3
    # A follow-up's follow-ups tab reads the case it follows up: one query
    # more; the follow-up is not secured, so its page asks nothing about a
    # vendor's "secured" claim: one query fewer than the secured bare case.
    assert (
        count_queries(client, f"/cases/{follow_ups[0].reference}/follow-ups/")
        == count_queries(client, f"/cases/{bare.reference}/follow-ups/") + 1 - 1
    )


def test_communications_and_evidence_are_paged(client, analyst, lead, vendor):
    case = make_case("closed", actor=analyst, lead=lead, vendor=vendor, start=START)
    add_messages(case, analyst, 30)  # 31 communications with the notice
    client.force_login(analyst)
    first = client.get(f"/cases/{case.reference}/communications/")
    assert len(first.context["communications"]) == 25
    assert first.context["communications"].paginator.count == 31
    body = first.content.decode()
    assert "Page 1 of 2 (31 in all)" in body and "?cpage=2#communications" in body
    second = client.get(f"/cases/{case.reference}/communications/?cpage=2")
    assert len(second.context["communications"]) == 6
    # Newest first: the notice, the oldest, is on the last page.
    assert second.context["communications"][5].direction == "outbound"
    assert client.get(f"/cases/{case.reference}/communications/?cpage=abc").status_code == 200
    assert client.get(f"/cases/{case.reference}/evidence/?epage=999").status_code == 200


# --- each tab its own URL ----------------------------------------------------

TAB_HEADINGS = {
    "timeline": '<h2 id="timeline-heading">Timeline</h2>',
    "communications": '<h2 id="communications-heading">Communications</h2>',
    "evidence": '<h2 id="evidence-heading">Evidence</h2>',
    "attestation": '<h2 id="attestation-heading">Deletion attestation</h2>',
    "disputes": '<h2 id="disputes-heading">Disputes</h2>',
    "escalations": '<h2 id="escalations-heading">Escalations</h2>',
    "follow-ups": '<h2 id="follow-ups-heading">Follow-ups</h2>',
}


@pytest.mark.parametrize("tab", list(TAB_HEADINGS))
def test_each_tab_is_a_whole_page_at_its_own_url(client, analyst, vendor, tab):
    case = make_case("secured", actor=analyst, vendor=vendor, start=START)
    client.force_login(analyst)
    response = client.get(f"/cases/{case.reference}/{tab}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html and '<div id="tab-panel"' in html  # works without JavaScript
    assert TAB_HEADINGS[tab] in html
    others = [heading for key, heading in TAB_HEADINGS.items() if key != tab]
    assert not [heading for heading in others if heading in html]  # only its own panel
    link = f'href="/cases/{case.reference}/{tab}/" hx-get="/cases/{case.reference}/{tab}/"'
    assert link in html
    current = html[html.index(link) :]
    assert current[: current.index(">")].endswith('aria-current="page" data-tab="' + tab + '"')
    assert html.count('aria-current="page"') == 2  # the tab and "Cases" in the site menu


def test_the_case_url_shows_the_timeline_tab(client, analyst, vendor):
    case = make_case("found", actor=analyst, vendor=vendor, start=START)
    client.force_login(analyst)
    html = client.get(f"/cases/{case.reference}/").content.decode()
    assert TAB_HEADINGS["timeline"] in html and TAB_HEADINGS["evidence"] not in html
    assert f'<a href="/cases/{case.reference}/evidence/" hx-get=' in html
    assert "Evidence <small>(1)</small>" in html  # the capture


def test_htmx_gets_the_panel_alone_with_the_tab_links_out_of_band(client, analyst, vendor):
    case = make_case("found", actor=analyst, vendor=vendor, start=START)
    client.force_login(analyst)
    url = f"/cases/{case.reference}/evidence/"
    response = client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="tab-panel")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert (
        '<nav aria-label="Case sections" class="case-tabs" id="case-tabs" hx-swap-oob="true">'
        in html
    )
    assert TAB_HEADINGS["evidence"] in html and TAB_HEADINGS["timeline"] not in html
    assert "HX-Request" in response["Vary"]
    restore = client.get(
        url,
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="tab-panel",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )
    assert "<html" in restore.content.decode()  # history restore wants the whole page


@pytest.mark.parametrize("path", ["bogus/", "Timeline/", "exports-tab/"])
def test_an_unknown_tab_is_404(client, analyst, vendor, path):
    case = make_case("found", actor=analyst, vendor=vendor, start=START)
    client.force_login(analyst)
    assert client.get(f"/cases/{case.reference}/{path}").status_code == 404


@pytest.mark.parametrize("who", ["anonymous", "vendor_contact", "other_vendor_contact"])
def test_a_tab_is_no_more_open_than_the_case_page(client, request, analyst, vendor, who):
    case = make_case("secured", actor=analyst, vendor=vendor, start=START)
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    response = client.get(f"/cases/{case.reference}/communications/")
    assert response.status_code == (302 if who == "anonymous" else 404)
