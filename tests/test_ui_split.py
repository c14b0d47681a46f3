""""Split here" in the validation station, in a real headless Chromium against a running ``mailroom serve``: a
reviewer splits a two-page document before page 2; the two letters are read and routed as a stack's letters."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from servicekit import SAMPLES
from uikit import PageCheck, UiServer, send_to_review, sign_in

REVIEWER, REVIEWER_PW = "pruefer", "Pruef-Passwort-2026"
CONTRACT = "0011-contract.pdf"  # born digital, two pages


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    running = UiServer(tmp_path_factory.mktemp("ui-split")).start()
    try:
        running.user(REVIEWER, "reviewer", REVIEWER_PW)
        yield running
    finally:
        running.stop()


def test_reviewer_splits_a_document_before_page_two(
    server: UiServer, browser: Browser, page: Page, tmp_path: Path
) -> None:
    check = PageCheck(tmp_path / "screenshots")
    admin = server.key("admin", "it-admin")
    send_to_review(server, admin, "Stichprobe", {"term": "Ingenieurvertrag"})
    document_id = server.upload(server.key("station", "poststelle-1", "--station", "poststelle-1"),
                                SAMPLES / CONTRACT)
    assert server.wait_settled(admin, document_id)["state"] == "review"

    # an admin has the same document open (another reviewer would no longer see it once it is split)
    other = browser.new_context(locale="de-DE", viewport={"width": 1400, "height": 1000}).new_page()
    server.user("chefin", "admin", REVIEWER_PW)
    sign_in(other, server.base, "chefin", REVIEWER_PW)
    other.goto(f"{server.base}/ui/review/{document_id}")

    sign_in(page, server.base, REVIEWER, REVIEWER_PW)
    page.goto(f"{server.base}/ui/review/{document_id}")
    expect(page.locator("#split-form")).to_be_visible()
    check(page, "review-split-form")
    page.locator("#split-before").select_option("2")
    page.get_by_role("button", name="Dokument hier trennen").click()
    expect(page).to_have_url(re.compile(rf"/ui/review.*done={document_id}"))
    # the admin's confirmation comes too late: told so, nothing changes
    try:
        other.get_by_role("button", name="Bestätigen und nächstes öffnen").click()
        expect(other.get_by_role("alert")).to_contain_text("jemand anderes hat schon entschieden")
    finally:
        other.context.close()

    parent = server.wait_settled(admin, document_id)
    assert parent["state"] == "split"
    letters = parent["letters"]
    assert len(letters) == 2
    assert [e["started_by"] for e in parent["result"]["letters"]] == ["file_start", "reviewer"]
    for number, letter in enumerate(letters, 1):
        body = server.wait_settled(admin, letter, timeout=300)
        assert body["state"] in {"routed", "review"}, body
        assert body["pages"] == 1 and body["result"]["parent"]["pages"] == [number, number]
    # the first letter still matches the admin's rule: it is back in the queue, as a letter of one page
    page.goto(f"{server.base}/ui/review")
    expect(page.locator(f'a[href*="{letters[0]}"]')).to_be_visible()
    page.goto(f"{server.base}/ui/review/{letters[0]}")
    expect(page.locator("#split-form")).to_have_count(0)  # one page: nothing to split
    check(page, "review-split-letter")
