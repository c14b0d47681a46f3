"""Passwords in the web UI, in a real headless Chromium against a running ``mailroom serve``: a signed-in user
changes their own password (current + new twice; other sessions end, this browser stays signed in), an admin sets
another user's password."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from uikit import PageCheck, UiServer, sign_in

REVIEWER, OLD_PW, NEW_PW = "pruefer", "Pruef-Passwort-2026", "Neues-Pruef-Passwort-2027"
ADMIN, ADMIN_PW = "chefin", "Admin-Passwort-2026"
CLERK, CLERK_PW, CLERK_NEW = "sachbearb", "Sachbearb-Passwort-26", "Vom-Admin-gesetzt-2026"
WRONG_LOGIN = "Benutzername oder Passwort ist falsch."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    running = UiServer(tmp_path_factory.mktemp("ui-account")).start()
    try:
        running.user(REVIEWER, "reviewer", OLD_PW)
        running.user(ADMIN, "admin", ADMIN_PW)
        running.user(CLERK, "clerk", CLERK_PW, "--postbox", "buergerbuero")
        yield running
    finally:
        running.stop()


def new_page(browser: Browser) -> Page:
    return browser.new_context(locale="de-DE", viewport={"width": 1400, "height": 1000}).new_page()


def test_user_changes_their_own_password(server: UiServer, browser: Browser, page: Page, tmp_path: Path) -> None:
    check = PageCheck(tmp_path / "screenshots")
    elsewhere = new_page(browser)  # the same user, signed in on another computer
    try:
        sign_in(elsewhere, server.base, REVIEWER, OLD_PW)
        expect(elsewhere).to_have_url(f"{server.base}/ui/review")
        sign_in(page, server.base, REVIEWER, OLD_PW)
        page.get_by_role("link", name="Mein Konto").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Mein Konto")
        check(page, "account")

        def change(current: str, new: str, repeat: str) -> None:
            page.get_by_label("Aktuelles Passwort").fill(current)
            page.get_by_label("Neues Passwort", exact=True).fill(new)
            page.get_by_label("Neues Passwort wiederholen").fill(repeat)
            page.get_by_role("button", name="Passwort ändern").click()

        change("falsch-falsch-falsch", NEW_PW, NEW_PW)
        expect(page.get_by_role("alert")).to_contain_text("Das aktuelle Passwort stimmt nicht")
        check(page, "account-wrong-current")
        change(OLD_PW, NEW_PW, NEW_PW + "x")
        expect(page.get_by_role("alert")).to_contain_text("stimmen nicht überein")
        change(OLD_PW, OLD_PW, OLD_PW)
        expect(page.get_by_role("alert")).to_contain_text("das bisherige")
        # the change itself with the keyboard alone: skip link, tab to the form, type, Enter
        page.goto(f"{server.base}/ui/account")
        page.keyboard.press("Tab")
        expect(page.locator(":focus")).to_have_text("Zum Inhalt springen")
        page.keyboard.press("Enter")
        for _ in range(10):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == "pw-current":
                break
        expect(page.locator("#pw-current")).to_be_focused()
        page.keyboard.type(OLD_PW)
        page.keyboard.press("Tab")
        page.keyboard.type(NEW_PW)
        page.keyboard.press("Tab")
        expect(page.locator("#pw-new2")).to_be_focused()
        page.keyboard.type(NEW_PW)
        page.keyboard.press("Enter")
        expect(page.get_by_role("status")).to_contain_text("Das Passwort ist geändert")
        check(page, "account-changed")

        # this browser stays signed in; the other session has ended
        page.goto(f"{server.base}/ui/review")
        expect(page).to_have_url(f"{server.base}/ui/review")
        elsewhere.goto(f"{server.base}/ui/review")
        expect(elsewhere).to_have_url(re.compile(r"/ui/login"))
    finally:
        elsewhere.context.close()

    # the old password no longer signs in, the new one does
    page.get_by_role("button", name="Abmelden").click()
    sign_in(page, server.base, REVIEWER, OLD_PW)
    expect(page.get_by_role("alert")).to_have_text(WRONG_LOGIN)
    sign_in(page, server.base, REVIEWER, NEW_PW)
    expect(page).to_have_url(f"{server.base}/ui/review")


def test_admin_sets_another_users_password(server: UiServer, page: Page, tmp_path: Path) -> None:
    check = PageCheck(tmp_path / "screenshots")
    sign_in(page, server.base, ADMIN, ADMIN_PW)
    page.goto(f"{server.base}/ui/users")
    row = page.locator(f'tr[data-user="{CLERK}"]')
    row.locator("summary").click()
    row.get_by_label(f"Neues Passwort für {CLERK}").fill(CLERK_NEW)
    row.get_by_label("Wiederholen").fill(CLERK_NEW + "?")
    row.get_by_role("button", name="Neues Passwort setzen", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("stimmen nicht überein")
    check(page, "users-password-mismatch")

    row = page.locator(f'tr[data-user="{CLERK}"]')
    row.locator("summary").click()
    row.get_by_label(f"Neues Passwort für {CLERK}").fill(CLERK_NEW)
    row.get_by_label("Wiederholen").fill(CLERK_NEW)
    row.get_by_role("button", name="Neues Passwort setzen", exact=True).click()
    expect(page.locator("#users-done")).to_have_text("Das Passwort ist geändert.")
    check(page, "users-password-set")

    page.get_by_role("button", name="Abmelden").click()
    sign_in(page, server.base, CLERK, CLERK_PW)
    expect(page.get_by_role("alert")).to_have_text(WRONG_LOGIN)
    sign_in(page, server.base, CLERK, CLERK_NEW)
    expect(page).to_have_url(f"{server.base}/ui/postboxes")
