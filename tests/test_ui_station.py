"""The station view end to end, in a real headless Chromium against a running ``mailroom serve``: the station
uploads by the file chooser and by drag and drop, sees today's uploads with their state, and sees its rescan
request for a blank scan (the quality gate sends it back instead of to review)."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect
from servicekit import SAMPLES
from uikit import PageCheck, UiServer, send_to_review, sign_in

STATION, STATION_PW = "scan.eins", "Station-Passwort-2026"
REVIEWER, REVIEWER_PW = "pruefer", "Pruef-Passwort-2026"
REVIEWER_MESSAGE = "Seite 1 ist abgeschnitten, bitte neu scannen"
LETTER = "0027-enquiry.pdf"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    running = UiServer(tmp_path_factory.mktemp("ui-station")).start()
    try:
        running.user(STATION, "station", STATION_PW, "--station", "poststelle-1")
        running.user(REVIEWER, "reviewer", REVIEWER_PW)
        send_to_review(running, running.key("admin", "it-admin"), "Stichprobe",
                       {"phrase": "Anfrage Meldebescheinigung"})
        yield running
    finally:
        running.stop()


def blank_scan(path: Path) -> Path:
    """An empty white A4 page at 200 dpi, as a scanner delivers a forgotten blank sheet."""
    Image.new("L", (1654, 2339), 255).save(path, dpi=(200, 200))
    return path


def test_station_uploads_and_sees_its_rescan_requests(
    server: UiServer, browser: Browser, page: Page, tmp_path: Path
) -> None:
    check = PageCheck(tmp_path / "screenshots")
    sign_in(page, server.base, STATION, STATION_PW)
    expect(page).to_have_url(f"{server.base}/ui/station")
    expect(page.locator("#station-none").or_(page.locator("#upload-table"))).to_be_visible()
    check(page, "station-empty")

    page.locator("#files").set_input_files(str(SAMPLES / LETTER))
    page.get_by_role("button", name="Hochladen").click()
    expect(page.locator("#upload-status")).to_contain_text("Hochgeladen: 1 von 1")

    # drag and drop: a drop event with the file, as the browser makes it when a file is dropped on the zone
    blank = blank_scan(tmp_path / "leer.png")
    payload = base64.b64encode(blank.read_bytes()).decode("ascii")
    page.evaluate(
        """([name, data]) => {
            const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, {type: "image/png"}));
            const zone = document.getElementById("dropzone");
            zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: transfer, bubbles: true, cancelable: true}));
            zone.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
        }""",
        ["leer.png", payload],
    )
    expect(page.locator("#upload-status")).to_contain_text("Hochgeladen: 1 von 1")

    rows = page.locator("#upload-table tbody tr")
    expect(rows).to_have_count(2, timeout=30_000)
    expect(page.locator("#rescan-list li")).to_have_count(1, timeout=240_000)  # the page refreshes itself
    request = page.locator("#rescan-list li").first
    expect(request).to_contain_text("leer.png")
    expect(request).to_contain_text(re.compile("scannen|leer", re.IGNORECASE))
    expect(page.locator("#upload-table tbody tr.state-rescan")).to_have_count(1)
    check(page, "station-rescan")

    # a reviewer sends the letter (in review by the admin's rule) back: the station sees that request too
    letter = page.locator("#upload-table tbody tr", has_text=LETTER)
    expect(letter).to_have_class(re.compile(r"state-review"), timeout=240_000)
    document_id = letter.get_attribute("data-document")
    reviewer = browser.new_context(locale="de-DE", viewport={"width": 1400, "height": 1000}).new_page()
    try:
        sign_in(reviewer, server.base, REVIEWER, REVIEWER_PW)
        reviewer.goto(f"{server.base}/ui/review/{document_id}")
        reviewer.locator("#rescan-message").fill(REVIEWER_MESSAGE)
        reviewer.locator("#rescan").click()
        expect(reviewer).to_have_url(re.compile(r"/ui/review"))
    finally:
        reviewer.context.close()
    expect(page.locator("#rescan-list li")).to_have_count(2, timeout=30_000)
    expect(page.locator("#rescan-list")).to_contain_text(REVIEWER_MESSAGE)
    check(page, "station-rescan-reviewer")

    # the new scan is in: the operator closes the reviewer's request with "Erledigt"; the document stays, dismissed
    reviewer_request = page.locator("#rescan-list li", has_text=REVIEWER_MESSAGE)
    reviewer_request.get_by_role("button", name=re.compile("Erledigt")).click()
    expect(page.locator("#station-notice")).to_contain_text("erledigt")
    expect(page.locator("#rescan-list li")).to_have_count(1)
    expect(page.locator("#rescan-list")).not_to_contain_text(REVIEWER_MESSAGE)
    expect(page.locator(f'#upload-table tbody tr[data-document="{document_id}"]')).to_have_class(
        re.compile(r"state-dismissed"))
    expect(page.locator(f'#upload-table tbody tr[data-document="{document_id}"]')).to_contain_text("erledigt")
    check(page, "station-rescan-dismissed")
