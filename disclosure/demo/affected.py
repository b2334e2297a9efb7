"""The BlueBleed demo case's affected list: a few thousand records made
here (seeded, so every run makes the same file), imported through the real
service, with the duplicates, country branches and free-mail addresses
that made the real count disputed; one company's branches grouped into one
organization; the firm's and the vendor's count claims side by side."""

import io
import random
from datetime import datetime

from disclosure.affected import claims, grouping, importing
from disclosure.affected.models import Dispute
from disclosure.cases.models import Case

from .scripts import Cast

# Contoso's business customers (fictional): some with a branch per country.
COMPANIES = (
    "northwind", "adventure-works", "tailspin", "wingtip", "litware", "proseware",
    "fourthcoffee", "wideworldimporters", "blueyonder", "margie", "trey", "lucerne",
    "alpineski", "coho", "humongous", "woodgrove", "relecloud", "cpandl", "datum",
    "graphicdesign", "southridge", "consolidated", "nodpublishers", "worldwide",
)  # fmt: skip
BRANCHES = {"fabrikam": ("com", "de", "fr", "co.uk", "es", "it", "nl", "com.br")}
COUNTRIES = ("US", "DE", "FR", "GB", "ES", "IT", "NL", "BR", "IN", "JP", "AU", "CA")
FREE = ("gmail.com", "outlook.com", "yahoo.com", "gmx.de", "web.de", "hotmail.co.uk")
ROWS = 3000


def affected_csv(rows: int = ROWS) -> bytes:
    """The demo's CSV export of affected records (deterministic)."""
    rnd = random.Random(2022)
    out = io.StringIO()
    out.write("email,organization,country,found_file,found_path\n")
    people = [f"user{i}" for i in range(900)]
    for i in range(rows):
        user = rnd.choice(people)  # the same people again and again: duplicates
        r = rnd.random()
        if r < 0.15:
            host, org, country = rnd.choice(FREE), "", rnd.choice(COUNTRIES)
        elif r < 0.35:
            tld = rnd.choice(BRANCHES["fabrikam"])
            host, org = f"fabrikam.{tld}", "Fabrikam"
            country = {"com": "US", "co.uk": "GB", "com.br": "BR"}.get(tld, tld.upper())
        else:
            name = rnd.choice(COMPANIES)
            host = f"{rnd.choice(('', 'mail.', 'eu.'))}{name}.com"
            org, country = name.replace("-", " ").title(), rnd.choice(COUNTRIES)
        out.write(f"{user}@{host},{org},{country},crm-export-{i % 12:02d}.csv,/contacts/{i}\n")
    return out.getvalue().encode("utf-8")


def seed_affected(cast: Cast, case: Case, claimed_at: datetime) -> None:
    """Import the list, group Fabrikam's branches, file both claims on the
    case's dispute about the number of affected entities."""
    batch = importing.start_import(
        actor=cast.analyst, case=case, file=io.BytesIO(affected_csv()),
        filename="bluebleed-affected.csv", format="csv",
    )  # fmt: skip
    batch = importing.run_import(batch_id=batch.pk)
    if batch.status != batch.Status.DONE:
        raise RuntimeError(f"The demo's affected list did not import: {batch.message}")
    grouping.group_domains(
        actor=cast.analyst, case=case, name="Fabrikam",
        domains=[f"fabrikam.{tld}" for tld in BRANCHES["fabrikam"]],
    )  # fmt: skip
    disputed = Dispute.objects.filter(case=case).order_by("pk").first()
    claims.file_count_claim(
        actor=cast.lead, case=case, level="organizations", count=25,
        method="Registrable domains without free-mail, Fabrikam's country branches as one "
        "organization (the counts table).",
        note="Recounted from the metadata we kept after deletion.", claimed_at=claimed_at,
        dispute=disputed,
    )  # fmt: skip
    claims.file_count_claim(
        actor=cast.contoso_contacts[0], case=case, level="organizations", count=20,
        method="Customer accounts in our CRM matching the domains, one per contract.",
        note="Several domains belong to customers whose contracts ended before 2022.",
        claimed_at=claimed_at, dispute=disputed,
    )  # fmt: skip
