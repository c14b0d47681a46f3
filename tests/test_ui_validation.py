"""The validation station end to end, in a real headless Chromium against a running ``mailroom serve`` with a real
webhook receiver: a reviewer corrects an invoice's amount and date (checked as typed), routes it, and decides a
letter to another postbox than suggested; the stored result and the webhook show it; the supplier's next invoice
is read right (its layout was learned from the confirmation)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from servicekit import SAMPLES, wait_for
from supplier_invoice import SupplierInvoice, de, render_supplier_invoice
from uikit import PageCheck, UiServer, send_to_review, server_fixture, sign_in
from webhook_receiver import WebhookReceiver

REVIEWER, REVIEWER_PW = "pruefer", "Pruef-Passwort-2026"
SUPPLIER_CSV = ("creditor_number;name;iban;vat_id\n"
                "70009;Kanzlei Obermeyer Partner;DE89370400440532013000;DE458864807\n")
LETTER = "0027-enquiry.pdf"  # suggested: buergerbuero; the reviewer decides standesamt
LETTER_POSTBOX = "standesamt"
INVOICE_POSTBOX = "kaemmerei-rechnungseingang"


FIRST = SupplierInvoice("OB-24-0113", "2026-03-02", Decimal("1250.00"))
# wider amounts than the first invoice's: the supplier prints them right-aligned, so they start further left than
# the learned ones and are found by their right edge
NEXT = SupplierInvoice("OB-24-0187", "2026-04-17", Decimal("118431.10"))


def render_invoice(invoice: SupplierInvoice, path: Path) -> Path:
    """The supplier's invoice addressed to the Kämmerei; born digital (text layer), so that the test spends its
    time in the browser, not in OCR."""
    return render_supplier_invoice(
        invoice, path, address=("Stadtverwaltung Musterstadt", "Kämmerei - Rechnungseingang", "Rathausplatz 1",
                                "12345 Musterstadt"),
        subject="Rechnung: Honorarnote für anwaltliche Beratung im Vergabeverfahren")


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


server = server_fixture("ui-validation", MAILROOM_WEBHOOK_ALLOW_HOSTS="127.0.0.1", MAILROOM_WEBHOOK_POLL_SECONDS="1")


@pytest.fixture(scope="module")
def setup(server: UiServer, receiver: WebhookReceiver, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    admin = server.key("admin", "it-admin")
    with server.api(admin) as client:
        answer = client.post("/webhooks", json={"name": "dms", "url": receiver.url,
                                                "event_types": ["document.routed"]})
        assert answer.status_code == 201, answer.text
        receiver.secret = answer.json()["secret"]
    csv = tmp_path_factory.mktemp("suppliers") / "creditors.csv"
    csv.write_text(SUPPLIER_CSV, encoding="utf-8")
    done = server.cli("suppliers", "import", str(csv))
    assert done.returncode == 0, done.stderr
    send_to_review(server, admin, "Stichprobe", {"phrase": "Anfrage Meldebescheinigung"})
    station = server.key("station", "poststelle-1")
    pdfs = tmp_path_factory.mktemp("invoices")
    invoice = server.upload(station, render_invoice(FIRST, pdfs / "obermeyer-0113.pdf"))
    letter = server.upload(station, SAMPLES / LETTER)
    for document_id in (invoice, letter):
        assert server.wait_settled(station, document_id)["state"] == "review"
    server.user(REVIEWER, "reviewer", REVIEWER_PW)
    return {"admin": admin, "station": station, "invoice": invoice, "letter": letter, "pdfs": pdfs}


def stored(server: UiServer, token: str, document_id: str) -> dict[str, Any]:
    with server.api(token) as client:
        answer = client.get(f"/documents/{document_id}")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())


def test_reviewer_corrects_an_invoice_and_decides_a_letter(
    server: UiServer, receiver: WebhookReceiver, setup: dict[str, Any], page: Page, tmp_path: Path
) -> None:
    check = PageCheck(tmp_path / "screenshots")
    invoice_id, letter_id = setup["invoice"], setup["letter"]
    sign_in(page, server.base, REVIEWER, REVIEWER_PW)
    page.locator(f'#queue tr[data-document="{invoice_id}"] a').click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("obermeyer-0113.pdf")
    expect(page.locator("svg.page-svg")).to_have_count(1)
    expect(page.locator('rect.box[data-field="address_field"]')).to_have_count(1)
    check(page, "review-invoice")

    # box -> field: clicking the IBAN's box selects its field; field -> box: focusing a field marks its box
    page.locator('rect.box[data-field="iban"]').click()
    expect(page.locator("#f-iban")).to_be_focused()
    page.locator("#f-seller_vat_id").focus()
    expect(page.locator('rect.box[data-field="seller_vat_id"]')).to_have_class(re.compile(r"\bselected\b"))

    # immediate validation: a wrong gross total and a broken IBAN are flagged as they are typed
    page.locator("#f-invoice_number").fill(FIRST.number)
    page.locator("#f-issue_date").fill("31.02.2026")
    expect(page.locator("#msg-issue_date")).to_have_text(re.compile("Kein Datum"))
    page.locator("#f-issue_date").fill("02.03.2026")
    expect(page.locator("#msg-issue_date")).to_have_text("")
    page.locator("#f-total_net").fill(de(FIRST.net))
    page.locator("#f-total_vat").fill(de(FIRST.vat))
    page.locator("#f-total_gross").fill("1.478,50")
    expect(page.locator("#msg-total_gross")).to_have_text(re.compile("Netto \\+ Umsatzsteuer ergibt nicht Brutto"))
    expect(page.locator("#f-total_gross")).to_have_attribute("aria-invalid", "true")
    iban = page.locator("#f-iban").input_value()
    page.locator("#f-iban").fill(iban[:-1] + ("1" if iban[-1] != "1" else "2"))
    expect(page.locator("#msg-iban")).to_have_text(re.compile("Prüfziffern"))
    check(page, "review-invoice-invalid")
    page.locator("#f-iban").fill(iban)
    page.locator("#f-total_gross").fill(de(FIRST.gross))
    expect(page.locator("#msg-total_gross")).to_have_text("")
    expect(page.locator("#msg-iban")).to_have_text("")
    page.locator("#postbox").select_option(INVOICE_POSTBOX)
    page.locator("#document_type").select_option("invoice")
    page.locator("#f-total_gross").press("Control+Enter")  # one key confirms and opens the next

    expect(page).to_have_url(re.compile(rf"/ui/review/{letter_id}"))
    result = stored(server, setup["admin"], invoice_id)
    assert result["state"] == "routed"
    fields = result["result"]["invoice"]
    assert fields["total_gross"]["value"] == f"{FIRST.gross:.2f}" and fields["total_gross"]["source"] == "reviewer"
    assert fields["issue_date"]["value"] == FIRST.issue
    assert result["result"]["routing"]["postbox"] == INVOICE_POSTBOX
    assert result["result"]["routing"]["decided_by"] == f"reviewer:{REVIEWER}"

    # the letter: decided to another postbox than the one suggested
    check(page, "review-letter")
    suggested = page.locator("#postbox").input_value()
    assert suggested != LETTER_POSTBOX
    page.locator("#postbox").select_option(LETTER_POSTBOX)
    page.get_by_role("button", name="Bestätigen und nächstes öffnen").click()
    expect(page).to_have_url(re.compile(r"/ui/review(\?|$)"))
    expect(page.locator("#queue-empty")).to_be_visible()
    assert stored(server, setup["admin"], letter_id)["result"]["routing"]["postbox"] == LETTER_POSTBOX

    # the webhook tells the DMS: the corrected fields and the postboxes as decided
    def delivered() -> dict[str, dict[str, Any]] | None:
        events = {p.document_id: p.event for p in receiver.processed if p.type == "document.routed"}
        return events if {invoice_id, letter_id} <= set(events) else None

    events = wait_for(delivered, 60, "the webhooks of both decisions")
    hooked = events[invoice_id]["document"]
    assert hooked["invoice"]["total_gross"]["value"] == f"{FIRST.gross:.2f}"
    assert hooked["invoice"]["issue_date"]["value"] == FIRST.issue
    assert hooked["routing"]["postbox"] == INVOICE_POSTBOX
    assert events[letter_id]["document"]["routing"]["postbox"] == LETTER_POSTBOX
    assert all(r.signature_ok for r in receiver.receipts)

    # the supplier's next invoice is read right: its layout was learned from the confirmation
    following = server.upload(setup["station"], render_invoice(NEXT, setup["pdfs"] / "obermeyer-0187.pdf"))
    server.wait_settled(setup["station"], following)
    read = stored(server, setup["admin"], following)["result"]["invoice"]
    expected = NEXT.truth()
    assert {name: read.get(name, {}).get("value") for name in expected} == expected
    assert read["validation"]["status"] == "valid"
