"""A reviewer confirms an invoice's fields through the real HTTP API (``POST /api/v1/documents/{id}/fields``);
the supplier's layout is learned and its next scanned invoice is read right.

The supplier prints its fields under labels no label table knows ("Belegkennung", "Ausgestellt am",
"Warenwert", "Steueranteil", "Endsumme inkl. Steuer"): the generic reading misses them, the learned one does not.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from supplier_invoice import IBAN, LEARNED_FIELDS, VAT_ID, SupplierInvoice, render_supplier_invoice
from test_api_support import SAMPLES, ApiServer, make_settings, serve, upload, wait_settled

from extraction.eval import degrade_pdf_page
from mailroom import audit
from mailroom.storage.db import session_scope
from mailroom.storage.labels import labels_of


def _scan(invoice: SupplierInvoice, folder: Path, seed: int) -> bytes:
    """The supplier's invoice rendered as a PDF, then rasterised and degraded like a scan (TIFF bytes)."""
    pdf = render_supplier_invoice(invoice, folder / f"{invoice.number}.pdf", heading="Rechnung",
                                  subject="Honorar für anwaltliche Beratung im Vergabeverfahren")
    return degrade_pdf_page(pdf, folder / f"{invoice.number}.tif", seed=seed).read_bytes()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    with serve(make_settings(tmp_path_factory.mktemp("api-fields"))) as running:
        yield running


@pytest.fixture(scope="module")
def station(server: ApiServer) -> Iterator[httpx.Client]:
    with server.client(server.key("station", "poststelle-1")) as client:
        yield client


@pytest.fixture(scope="module")
def reviewer(server: ApiServer) -> Iterator[httpx.Client]:
    with server.client(server.key("reviewer", "pruefer-1")) as client:
        yield client


def _read(station: httpx.Client, reviewer: httpx.Client, name: str, data: bytes) -> tuple[str, dict[str, object]]:
    response = upload(station, name, data)
    assert response.status_code == 202, response.text
    document_id = response.json()["document_id"]
    wait_settled(station, document_id, timeout=600)
    status = reviewer.get(f"/api/v1/documents/{document_id}")
    assert status.status_code == 200, status.text
    return document_id, status.json()["result"]


def _values(result: dict[str, object]) -> dict[str, object]:
    invoice = result.get("invoice") or {}
    assert isinstance(invoice, dict)
    return {k: v["value"] for k, v in invoice.items() if isinstance(v, dict) and "value" in v}


def test_confirmed_fields_teach_the_suppliers_next_invoice(
    server: ApiServer, station: httpx.Client, reviewer: httpx.Client, tmp_path: Path
) -> None:
    first_invoice = SupplierInvoice("OB-24-0113", "2026-03-02", Decimal("1250.00"))
    second_invoice = SupplierInvoice("OB-24-0187", "2026-04-17", Decimal("8431.70"))
    first_truth, second_truth = first_invoice.truth(), second_invoice.truth()
    first_id, first = _read(station, reviewer, "first.tif", _scan(first_invoice, tmp_path, 1))
    before = _values(first)
    assert before.get("iban") == IBAN and before.get("seller_vat_id") == VAT_ID
    missed = [f for f in LEARNED_FIELDS if before.get(f) != first_truth[f]]
    assert missed, "the unusual labels should not be read without learning"

    # a station may not confirm fields; an unknown field or a bad date is refused with a stable code
    assert station.post(f"/api/v1/documents/{first_id}/fields", json={"fields": first_truth}).status_code == 403
    bad = reviewer.post(f"/api/v1/documents/{first_id}/fields", json={"fields": {"issue_date": "02.03.2026"}})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_correction", bad.text
    unknown = reviewer.post(f"/api/v1/documents/{first_id}/fields", json={"fields": {"colour": "blue"}})
    assert unknown.status_code == 422 and unknown.json()["code"] == "invalid_correction"
    # values of the right shape that fail their checks are refused as in the validation station, nothing stored
    inconsistent = {**first_truth, "total_gross": "9999.99"}
    failed = reviewer.post(f"/api/v1/documents/{first_id}/fields", json={"fields": inconsistent})
    assert failed.status_code == 422 and failed.json()["code"] == "invalid_fields", failed.text
    assert set(failed.json()["details"]["problems"]) >= {"total_net", "total_vat", "total_gross"}
    assert reviewer.get(f"/api/v1/documents/{first_id}").json()["result"]["invoice"] == first["invoice"]

    confirmed = reviewer.post(f"/api/v1/documents/{first_id}/fields",
                              json={"fields": first_truth, "confirm_rest": True})
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    assert body["supplier_key"] == VAT_ID
    assert set(missed) <= set(body["corrected"])
    assert set(LEARNED_FIELDS) <= set(body["learned"])
    stored = reviewer.get(f"/api/v1/documents/{first_id}").json()["result"]["invoice"]
    assert {f: stored[f]["value"] for f in LEARNED_FIELDS} == first_truth
    assert all(stored[f]["source"] == "reviewer" for f in LEARNED_FIELDS)
    assert stored["validation"]["status"] == "valid" and stored["validation"]["confirmed_by"] == "reviewer:pruefer-1"
    with session_scope(server.ctx.sessions, readonly=True) as session:
        kinds = [label.kind for label in labels_of(session, first_id)]
        entries = [e for e in audit.export(session) if e["action"] == "invoice.fields_confirmed"]
    assert "fields" in kinds
    assert entries and entries[-1]["actor"] == "reviewer:pruefer-1" and entries[-1]["object_id"] == first_id
    assert "1250.00" not in json.dumps(entries[-1]["details"])  # names of fields, not their values

    _, second = _read(station, reviewer, "second.tif", _scan(second_invoice, tmp_path, 2))
    after = _values(second)
    assert {f: after.get(f) for f in LEARNED_FIELDS} == second_truth  # the next invoice of the supplier is read right


def test_fields_of_a_document_that_is_no_invoice_are_refused(server: ApiServer, station: httpx.Client) -> None:
    response = upload(station, "0027-enquiry.pdf", (SAMPLES / "0027-enquiry.pdf").read_bytes())
    document_id = response.json()["document_id"]
    wait_settled(station, document_id)
    with server.client(server.key("admin", "admin-1")) as admin:  # sees every document, may confirm fields
        refused = admin.post(f"/api/v1/documents/{document_id}/fields", json={"fields": {"invoice_number": "X-1"}})
    assert refused.status_code == 409 and refused.json()["code"] == "not_an_invoice", refused.text
