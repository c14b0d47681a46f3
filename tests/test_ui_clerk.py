"""The postbox view end to end, in a real headless Chromium against a running ``mailroom serve``: a clerk works
the documents of the postbox (claim, re-route with a reason) and cannot open another postbox's document nor a
confidential letter for someone else, which its named recipient can."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from uikit import PageCheck, Routed, UiServer, routed_documents, server_fixture, sign_in

CLERK, CLERK_PW = "b.clerk", "Clerk-Passwort-2026"
SCHAEFER, SCHAEFER_PW = "s.schaefer", "Schaefer-Passwort-2026"
POSTBOX = "buergerbuero"
ENQUIRY = "0027-enquiry.pdf"  # Bürgerbüro
CONFIDENTIAL = "0008-complaint.png"  # Bürgerbüro, "Frau Schäfer - persönlich -"
OTHER = "0017-application_trade_registration.pdf"  # Ordnungsamt
ROUTES = [({"phrase": "Anfrage Meldebescheinigung"}, POSTBOX), ({"phrase": "Lange Wartezeiten"}, POSTBOX),
          ({"term": "Gewerbeanzeige"}, "ordnungsamt-gewerbe")]


server = server_fixture("ui-clerk")


@pytest.fixture(scope="module")
def setup(server: UiServer) -> Routed:
    routed = routed_documents(server, ROUTES, (ENQUIRY, CONFIDENTIAL, OTHER))
    routing = routed.settled[CONFIDENTIAL]["result"]["routing"]  # (as the admin sees it: a station no longer does)
    assert routing["confidential"] is True and routing["person"] == "schaefer", routing
    server.user(CLERK, "clerk", CLERK_PW, "--postbox", POSTBOX)
    server.user(SCHAEFER, "clerk", SCHAEFER_PW, "--postbox", POSTBOX, "--person", "schaefer")
    return routed


def test_clerk_sees_only_its_postbox_and_no_confidential_letter_for_someone_else(
    server: UiServer, setup: Routed, page: Page, tmp_path: Path
) -> None:
    check = PageCheck(tmp_path / "screenshots")
    ids = setup.ids
    sign_in(page, server.base, CLERK, CLERK_PW)
    expect(page).to_have_url(f"{server.base}/ui/postboxes")
    expect(page.locator("#postboxes tbody tr")).to_have_count(1)
    check(page, "postboxes")
    page.locator(f'#postboxes tr[data-postbox="{POSTBOX}"] a').first.click()
    listed = page.locator("#postbox-documents tbody tr")
    expect(listed).to_have_count(1)
    expect(listed.first).to_have_attribute("data-document", ids[ENQUIRY])
    check(page, "postbox")

    for url in (f"/ui/postboxes/{POSTBOX}/{ids[CONFIDENTIAL]}", f"/ui/postboxes/ordnungsamt-gewerbe/{ids[OTHER]}",
                "/ui/postboxes/ordnungsamt-gewerbe", f"/ui/documents/{ids[OTHER]}/pages/1.png",
                f"/ui/documents/{ids[CONFIDENTIAL]}/pages/1.png"):
        answer = page.goto(server.base + url)
        assert answer is not None and answer.status == 404, url
        if url.endswith(".png"):
            continue
        expect(page.get_by_role("alert")).to_have_text("Nicht gefunden.")
        if url == "/ui/postboxes/ordnungsamt-gewerbe":
            check(page, "not-found")

    page.goto(f"{server.base}/ui/postboxes/{POSTBOX}/{ids[ENQUIRY]}")
    expect(page.locator("svg.page-svg")).to_have_count(1)
    check(page, "postbox-document")
    page.locator("#claim").click()
    expect(page.locator("#action-message")).to_have_text("Sie bearbeiten das Dokument jetzt.")
    expect(page.locator("#item-state")).to_contain_text("in Bearbeitung")
    page.locator("#target").select_option("standesamt")
    page.locator("#reason").fill("Betrifft eine Geburtsurkunde")
    page.locator("#reroute").click()
    expect(page.get_by_role("status")).to_have_text("Das Dokument wurde weitergeleitet.")
    expect(page.locator("#postbox-empty")).to_be_visible()
    with server.api(setup.admin) as client:
        routing = client.get(f"/documents/{ids[ENQUIRY]}").json()["result"]["routing"]
    assert routing["postbox"] == "standesamt" and routing["reason"] == "Betrifft eine Geburtsurkunde"
    assert routing["decided_by"] == f"clerk:{CLERK}"


def test_the_named_recipient_opens_the_confidential_letter(
    server: UiServer, setup: Routed, page: Page
) -> None:
    ids = setup.ids
    sign_in(page, server.base, SCHAEFER, SCHAEFER_PW)
    page.goto(f"{server.base}/ui/postboxes/{POSTBOX}")
    expect(page.locator(f'#postbox-documents tr[data-document="{ids[CONFIDENTIAL]}"]')).to_have_count(1)
    page.goto(f"{server.base}/ui/postboxes/{POSTBOX}/{ids[CONFIDENTIAL]}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(CONFIDENTIAL)
    image = page.request.get(f"{server.base}/ui/documents/{ids[CONFIDENTIAL]}/pages/1.png")
    assert image.status == 200 and image.headers["content-type"] == "image/png"
