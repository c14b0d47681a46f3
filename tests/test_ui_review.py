"""The web UI end to end, in a real headless Chromium against a running ``mailroom serve``: sign-in, lock-out,
sign-out, CSRF, the validation station's queue, scope by role, keyboard-only use, accessibility (axe-core)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from servicekit import SAMPLES
from uikit import PageCheck, UiServer, send_to_review, server_fixture, sign_in, tab_to

REVIEWER, REVIEWER_PW = "pruefer", "Pruef-Passwort-2026"
CLERK, CLERK_PW = "sachbearbeiter", "Sachb-Passwort-2026"
LOCKED, LOCKED_PW = "vergesslich", "Vergessl-Passwort-2026"
REASON = "Stichprobe der Poststelle"
# born-digital samples (text layer: no OCR, fast); the first goes to review first
FIRST, SECOND = "0027-enquiry.pdf", "0011-contract.pdf"


server = server_fixture("ui-review")


@pytest.fixture(scope="module")
def queue(server: UiServer) -> list[str]:
    """Two letters in review (oldest first) through a rule the admin configured, and the accounts."""
    admin = server.key("admin", "it-admin")
    send_to_review(server, admin, REASON, {"regex": r"\w"})
    station = server.key("station", "poststelle-1")
    ids = []
    for name in (FIRST, SECOND):
        document_id = server.upload(station, SAMPLES / name)
        assert server.wait_settled(station, document_id)["state"] == "review"
        ids.append(document_id)
    server.user(REVIEWER, "reviewer", REVIEWER_PW)
    server.user(CLERK, "clerk", CLERK_PW, "--postbox", "bauaufsicht")  # a postbox of the directory
    server.user(LOCKED, "reviewer", LOCKED_PW)
    return ids


@pytest.fixture
def check(tmp_path: Path) -> PageCheck:
    return PageCheck(tmp_path / "screenshots")


def test_reviewer_signs_in_and_sees_the_queue_oldest_first(
    server: UiServer, queue: list[str], page: Page, check: PageCheck
) -> None:
    page.goto(f"{server.base}/ui/review")
    expect(page).to_have_url(re.compile(r"/ui/login\?next=/ui/review"))  # not signed in: to the sign-in
    check(page, "login")
    sign_in(page, server.base, REVIEWER, "falsches-passwort-123")
    expect(page.get_by_role("alert")).to_have_text("Benutzername oder Passwort ist falsch.")
    check(page, "login-failed")

    sign_in(page, server.base, REVIEWER, REVIEWER_PW)
    expect(page).to_have_url(f"{server.base}/ui/review")
    expect(page.get_by_role("heading", level=1)).to_have_text("Validierung: Warteschlange")
    rows = page.locator("#queue tbody tr")
    expect(rows).to_have_count(2)
    assert [rows.nth(i).get_attribute("data-document") for i in range(2)] == queue  # oldest first
    expect(rows.nth(0)).to_contain_text(FIRST)
    expect(rows.nth(0)).to_contain_text(REASON)
    expect(rows.nth(0)).to_contain_text(re.compile(r"\d+ Min\."))
    expect(page.get_by_text("Angemeldet als pruefer (Validierung)")).to_be_visible()
    check(page, "review-queue")

    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Validation: queue")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    check(page, "review-queue-en")
    page.get_by_role("link", name="Deutsch").click()

    page.get_by_role("button", name="Abmelden").click()
    expect(page.get_by_role("alert").or_(page.locator(".notice"))).to_have_text("Sie sind abgemeldet.")
    page.goto(f"{server.base}/ui/review")
    expect(page).to_have_url(re.compile(r"/ui/login"))  # the session ended on the server too


def test_repeated_failures_lock_the_account(server: UiServer, queue: list[str], page: Page,
                                            check: PageCheck) -> None:
    for _ in range(5):
        sign_in(page, server.base, LOCKED, "daneben-daneben-1")
    expect(page.get_by_role("alert")).to_contain_text("gesperrt")
    sign_in(page, server.base, LOCKED, LOCKED_PW)  # the right password does not open a locked account
    expect(page.get_by_role("alert")).to_contain_text("gesperrt")
    check(page, "login-locked")
    done = server.cli("users", "unlock", LOCKED)
    assert done.returncode == 0, done.stderr
    sign_in(page, server.base, LOCKED, LOCKED_PW)
    expect(page).to_have_url(f"{server.base}/ui/review")


def test_a_clerk_may_not_open_the_validation_station(server: UiServer, queue: list[str], page: Page,
                                                     check: PageCheck) -> None:
    sign_in(page, server.base, CLERK, CLERK_PW)
    page.goto(f"{server.base}/ui/review")
    expect(page.get_by_role("alert")).to_have_text("Dafür fehlt Ihnen die Berechtigung.")
    assert page.locator("#queue").count() == 0
    check(page, "forbidden")


def test_changes_without_the_csrf_token_are_refused(server: UiServer, queue: list[str], page: Page) -> None:
    sign_in(page, server.base, REVIEWER, REVIEWER_PW)
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    cookie = cookies["mailroom_session"]
    flags = next(c for c in page.context.cookies() if c["name"] == "mailroom_session")
    assert flags["httpOnly"] and flags["secure"] and flags["sameSite"] == "Strict"
    with httpx.Client(base_url=server.base, cookies={"mailroom_session": cookie}) as client:
        forged = client.post("/ui/logout", data={"csrf": "0" * 64})
        assert forged.status_code == 403
        assert client.get("/ui/review").status_code == 200  # the forged logout did nothing
        login = client.get("/ui/login")
        assert "default-src 'self'" in login.headers["content-security-policy"]
        # the sign-in form has its own token: a cross-site sign-in (login CSRF) is refused
        refused = client.post("/ui/login", data={"name": REVIEWER, "password": REVIEWER_PW, "csrf": "x"})
        assert refused.status_code == 400


def test_keyboard_only(server: UiServer, queue: list[str], page: Page) -> None:
    page.goto(f"{server.base}/ui/login")
    expect(page.locator("#name")).to_be_focused()  # the sign-in form takes the focus: type at once
    page.keyboard.type(REVIEWER)
    page.keyboard.press("Tab")
    page.keyboard.type(REVIEWER_PW)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server.base}/ui/review")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Zum Inhalt springen")
    page.keyboard.press("Enter")
    for _ in range(20):  # tab on until the first document of the queue has the focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('#queue') !== null"):
            break
    expect(page.locator(":focus")).to_have_text(FIRST)
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # the focus is visible
    # open the oldest document with the keyboard and decide it with one key: the next one opens
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server.base}/ui/review/{queue[0]}")
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Enter")
    for _ in range(30):  # tab on to the postbox choice
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "postbox":
            break
    expect(page.locator("#postbox")).to_be_focused()
    # Ctrl+Enter belongs to the decision's form: typed in the message to the station it does not confirm
    tab_to(page, "#rescan-message")
    page.keyboard.press("Control+Enter")
    page.wait_for_timeout(1_000)
    expect(page).to_have_url(re.compile(rf"/ui/review/{queue[0]}(#main)?$"))  # still here (the skip link's #main)
    tab_to(page, "#postbox")
    page.keyboard.press("Control+Enter")
    expect(page).to_have_url(f"{server.base}/ui/review/{queue[1]}?done={queue[0]}")


def test_a_document_type_the_model_does_not_know_is_refused(server: UiServer, queue: list[str],
                                                            page: Page) -> None:
    """A type typed into a forged form (here: an option added to the page) would become a new class of the type
    model at the next training: refused as the REST decision refuses it; the document stays in review."""
    sign_in(page, server.base, REVIEWER, REVIEWER_PW)
    page.goto(f"{server.base}/ui/review/{queue[-1]}")
    page.evaluate("""() => { const s = document.querySelector('#document_type');
                             s.add(new Option('rechnung', 'rechnung')); s.value = 'rechnung'; }""")
    page.locator("#confirm").click()
    expect(page.get_by_text("Diese Dokumentart gibt es nicht.")).to_be_visible()
    assert page.url.endswith(f"/ui/review/{queue[-1]}/confirm") or f"/ui/review/{queue[-1]}" in page.url
    admin = server.key("admin", "it-admin-type-check")
    with httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {admin}"}) as client:
        assert client.get(f"/api/v1/documents/{queue[-1]}").json()["state"] == "review"
