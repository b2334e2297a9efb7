"""The vendor portal's affected-entity page: access matrix, the counts the
vendor may see, the vendor's count claim beside the firm's."""

import io

import pytest
from django.urls import reverse

from disclosure.affected import claims, importing
from disclosure.affected.models import Dispute
from disclosure.cases.stages import Stage
from tests.factories import make_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(analyst, vendor):
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    batch = importing.start_import(
        actor=analyst, case=case, file=io.BytesIO(b"domain\n1.2.3.4\ncontoso.com\n"),
        filename="l.csv", format="csv",
    )  # fmt: skip
    importing.run_import(batch_id=batch.pk)
    claims.file_count_claim(actor=analyst, case=case, level="domains", count=1, method="PSL")
    return case


def url(case):
    return reverse("portal:case_affected", args=[case.reference])


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 302), ("other_vendor_contact", 404), ("vendor_contact", 200), ("analyst", 404)],
)
def test_access_matrix(client, request, case, who, status):
    if who:
        client.force_login(request.getfixturevalue(who))
    assert client.get(url(case)).status_code == status
    assert client.post(url(case), {"level": "domains", "count": "0", "method": "x"}).status_code \
        in ((302,) if who in (None, "vendor_contact") else (404,))  # fmt: skip


def test_the_vendor_sees_counts_and_files_its_claim(client, vendor_contact, case):
    client.force_login(vendor_contact)
    page = client.get(url(case)).content.decode()
    assert "Registrable domains</th>\n    <td>1</td>" in page
    assert "set apart" not in page  # the IP-address figure is internal
    r = client.post(url(case), {"level": "domains", "count": "0", "method": "we counted",
                                "note": "test data"})  # fmt: skip
    assert r.status_code == 302
    d = Dispute.objects.get(case=case)
    assert (d.firm_count, d.vendor_count, d.vendor_count_method) == (1, 0, "we counted")
    bad = client.post(url(case), {"level": "domains", "count": "-3", "method": ""})
    assert bad.status_code == 400


def test_the_case_page_links_the_section(client, vendor_contact, case):
    client.force_login(vendor_contact)
    page = client.get(reverse("portal:case_detail", args=[case.reference])).content.decode()
    assert f'hx-get="{url(case)}"' in page
