"""The web UI with the keyboard alone, in a real headless Chromium against a running ``mailroom serve``: for the
station view (upload through the file chooser, closing a rescan request), the postbox view (claim, acknowledge,
re-route), the rules editor (edit, validate, simulate, activate, roll back), the directory, supplier and user
pages and the dashboard, every action is done with Tab, typing, Enter, Space and the arrow keys, never a click.

Every page shown to :class:`uikit.PageCheck` is also walked once round with Tab (every control reached, a visible
focus ring on screen at every stop, back at the start: no keyboard trap), checked by axe-core and screenshotted.
Sign-in, skip link, queue, opening a document and Ctrl+Enter are in ``test_ui_review.py``; the password change in
``test_ui_account.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from servicekit import SAMPLES
from uikit import PageCheck, Routed, UiServer, keyboard_fill, keyboard_sign_in, routed_documents, server_fixture, tab_to

STATION, STATION_PW = "scan.tastatur", "Station-Passwort-2026"
CLERK, CLERK_PW = "k.tastatur", "Clerk-Passwort-2026"
ADMIN, ADMIN_PW = "admin.tastatur", "Admin-Passwort-2026"
ENQUIRY = "0027-enquiry.pdf"  # routed to the Bürgerbüro by the rule below
TRADE = "0017-application_trade_registration.pdf"  # routed to the Gewerbeamt
POSTBOX, TRADE_POSTBOX = "buergerbuero", "ordnungsamt-gewerbe"
ROUTES = [({"phrase": "Anfrage Meldebescheinigung"}, POSTBOX), ({"term": "Gewerbeanzeige"}, TRADE_POSTBOX)]
#: Answers that do real work on a busy machine (a simulation, argon2id hashing, installing the directory).
SLOW = 60_000
NEW_RULE_BROKEN = """# per Tastatur geschrieben
id: tastatur-regel
priority: 900
when: {phrase: Anfrage Meldebescheinigung}
then: {route_to: standesamt}
"""


server = server_fixture("ui-keyboard")


@pytest.fixture(scope="module")
def setup(server: UiServer) -> Routed:
    routed = routed_documents(server, ROUTES, (ENQUIRY, TRADE))
    server.user(STATION, "station", STATION_PW, "--station", "poststelle-2")
    server.user(CLERK, "clerk", CLERK_PW, "--postbox", POSTBOX, "--postbox", TRADE_POSTBOX)
    server.user(ADMIN, "admin", ADMIN_PW)
    return routed


@pytest.fixture
def check(tmp_path: Path) -> PageCheck:
    return PageCheck(tmp_path / "screenshots")


def focused_id(page: Page) -> str:
    return str(page.evaluate("document.activeElement ? document.activeElement.id : ''"))


def choose_with_arrows(page: Page, value: str, limit: int = 80) -> None:
    """Move a focused ``<select>`` to ``value`` with the arrow key (as a keyboard user does on a closed list)."""
    for _ in range(limit):
        if page.evaluate("document.activeElement.value") == value:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"ArrowDown never reaches {value}")


def test_station_uploads_and_closes_a_rescan_request_with_the_keyboard(
    server: UiServer, setup: Routed, page: Page, check: PageCheck, tmp_path: Path
) -> None:
    keyboard_sign_in(page, server.base, STATION, STATION_PW)
    expect(page).to_have_url(f"{server.base}/ui/station")
    check(page, "station")

    blank = tmp_path / "leer-tastatur.png"
    Image.new("L", (1654, 2339), 255).save(blank, dpi=(200, 200))  # a forgotten blank sheet: a rescan request
    tab_to(page, "#files")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")  # the file chooser opens from the keyboard
    chooser.value.set_files([str(blank), str(SAMPLES / ENQUIRY)])
    page.keyboard.press("Tab")
    expect(page.locator("#upload-form button[type=submit]")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#upload-status")).to_contain_text("Hochgeladen: 2 von 2")
    expect(page.locator("#upload-table tbody tr")).to_have_count(2, timeout=30_000)

    request = page.locator("#rescan-list li", has_text=blank.name)
    expect(request).to_have_count(1, timeout=240_000)  # the list refreshes itself every 5 s
    button = request.get_by_role("button")
    tab_to(page, "#rescan-list button")
    expect(button).to_be_focused()
    page.wait_for_timeout(6_000)  # one refresh of the list later the focus is still on the button, not lost
    expect(button).to_be_focused()
    check(page, "station-rescan", keyboard=False)  # (the walk would move the focus)
    tab_to(page, "#rescan-list button")
    page.keyboard.press("Space")
    expect(page.locator("#station-notice")).to_have_text("Die Aufforderung ist erledigt.")
    expect(page.locator("#rescan-list li")).to_have_count(0)
    check(page, "station-dismissed")


def test_clerk_claims_acknowledges_and_reroutes_with_the_keyboard(
    server: UiServer, setup: Routed, page: Page, check: PageCheck
) -> None:
    ids = setup.ids
    keyboard_sign_in(page, server.base, CLERK, CLERK_PW)
    expect(page).to_have_url(f"{server.base}/ui/postboxes")
    check(page, "postboxes")
    tab_to(page, f'#postboxes tr[data-postbox="{POSTBOX}"] td:first-child a')
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server.base}/ui/postboxes/{POSTBOX}")
    check(page, "postbox")
    tab_to(page, f'#postbox-documents tr[data-document="{ids[ENQUIRY]}"] a')
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server.base}/ui/postboxes/{POSTBOX}/{ids[ENQUIRY]}")
    check(page, "postbox-document")

    tab_to(page, "#claim")
    page.keyboard.press("Enter")
    expect(page.locator("#action-message")).to_have_text("Sie bearbeiten das Dokument jetzt.")
    tab_to(page, "#acknowledge")
    page.keyboard.press("Space")
    expect(page.locator("#item-state")).to_contain_text("erledigt")
    check(page, "postbox-document-done")

    page.goto(f"{server.base}/ui/postboxes/{TRADE_POSTBOX}/{ids[TRADE]}")
    tab_to(page, "#target")
    choose_with_arrows(page, "standesamt")
    page.keyboard.press("Tab")
    assert focused_id(page) == "reason"
    page.keyboard.type("Gehört zum Standesamt (per Tastatur)")
    page.keyboard.press("Tab")
    assert focused_id(page) == "reroute"
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Das Dokument wurde weitergeleitet.")
    with server.api(setup.admin) as client:
        routing = client.get(f"/documents/{ids[TRADE]}").json()["result"]["routing"]
        items = client.get(f"/postboxes/{POSTBOX}/documents", params={"state": "done"}).json()
    assert routing["postbox"] == "standesamt" and routing["reason"] == "Gehört zum Standesamt (per Tastatur)"
    assert routing["decided_by"] == f"clerk:{CLERK}"
    assert ids[ENQUIRY] in str(items)  # acknowledged: done in the postbox


def test_admin_edits_validates_simulates_activates_and_rolls_back_rules_with_the_keyboard(
    server: UiServer, setup: Routed, page: Page, check: PageCheck
) -> None:
    keyboard_sign_in(page, server.base, ADMIN, ADMIN_PW)
    tab_to(page, 'header nav a[href$="/ui/rules"]')
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Routing-Regeln")
    check(page, "rules")
    tab_to(page, "#new-draft")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/ui/rules/versions/\d+$"))
    draft_url = page.url
    check(page, "rules-draft")

    keyboard_fill(page, {"#rule-text-new": NEW_RULE_BROKEN}, then="#save")  # Tab leaves the editor: no trap
    broken = page.locator('.rule-block[data-rule="tastatur-regel"]')
    expect(page.locator("#rules-error")).to_contain_text("Nichts wurde gespeichert")
    expect(broken.locator("ul.problems")).to_contain_text("confidence")
    check(page, "rules-draft-invalid")

    tab_to(page, '.rule-block[data-rule="tastatur-regel"] textarea', limit=300)
    page.keyboard.press("Control+End")
    page.keyboard.type("confidence: 0.99")
    tab_to(page, "#save")
    page.keyboard.press("Enter")
    expect(page.locator("#saved")).to_be_visible()
    expect(page.locator(".rule-block.has-problems")).to_have_count(0)

    tab_to(page, "#simulate", limit=300)
    page.keyboard.press("Enter")
    expect(page.locator("#sim-totals")).to_contain_text(re.compile(r"\d+ Dokumente"), timeout=SLOW)
    row = page.locator(f'#sim-changes tr[data-document="{setup.ids[ENQUIRY]}"]')
    expect(row.locator("td").nth(3)).to_contain_text("standesamt")
    check(page, "rules-simulation")

    tab_to(page, "#activate", limit=300)
    page.keyboard.press("Space")
    expect(page.locator("#rules-done")).to_have_text("Die Version ist jetzt aktiv.", timeout=SLOW)
    with server.api(setup.admin) as client:
        active = client.get("/rules").json()["active_version"]
        stored = client.get(f"/rules/versions/{active}").json()["yaml"]
    assert draft_url.endswith(f"/{active}") and "# per Tastatur geschrieben" in stored
    tab_to(page, "#rollback")
    page.keyboard.press("Enter")
    expect(page.locator("#rules-done")).to_have_text("Die vorherige Version ist wieder aktiv.", timeout=SLOW)
    check(page, "rules-rolled-back")


def test_admin_works_directory_suppliers_users_and_dashboard_with_the_keyboard(
    server: UiServer, setup: Routed, page: Page, check: PageCheck
) -> None:
    keyboard_sign_in(page, server.base, ADMIN, ADMIN_PW)
    tab_to(page, 'header nav a[href$="/ui/directory"]')
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Organisationsverzeichnis")
    check(page, "directory")
    keyboard_fill(page, {"#directory": "\n# geprüft von der Poststelle (Tastatur)\n"}, then="#dir-save", append=True)
    expect(page.locator("#dir-saved")).to_be_visible(timeout=SLOW)
    expect(page.locator("#directory")).to_contain_text("# geprüft von der Poststelle (Tastatur)")

    tab_to(page, 'header nav a[href$="/ui/suppliers"]')
    page.keyboard.press("Enter")
    check(page, "suppliers")
    tab_to(page, "#creditor_number")
    for value in ("70010", "Tastatur und Maus GmbH", "DE89 3704 0044 0532 0130 00", "DE458864807"):
        page.keyboard.type(value)
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # in the last field (tax number): Enter sends the form
    expect(page.locator("#sup-done")).to_be_visible()
    expect(page.locator('#suppliers tr[data-creditor="70010"]')).to_contain_text("Tastatur und Maus GmbH")
    # change one field of a stored supplier: "Bearbeiten" fills the form, the rest need not be typed again
    tab_to(page, '#suppliers tr[data-creditor="70010"] a')
    page.keyboard.press("Enter")
    expect(page.locator("#ibans")).to_have_value("DE89370400440532013000")
    tab_to(page, "#sup-name")
    page.keyboard.press("Control+A")
    page.keyboard.type("Tastatur & Maus GmbH")
    page.keyboard.press("Enter")
    expect(page.locator("#sup-done")).to_be_visible()
    changed = page.locator('#suppliers tr[data-creditor="70010"]')
    expect(changed).to_contain_text("Tastatur & Maus GmbH")
    expect(changed).to_contain_text("DE89370400440532013000")  # kept

    tab_to(page, 'header nav a[href$="/ui/users"]')
    page.keyboard.press("Enter")
    check(page, "users")
    tab_to(page, "#u-name")
    page.keyboard.type("k.neu")
    page.keyboard.press("Tab")
    page.keyboard.type("Karla Neu")
    page.keyboard.press("Tab")
    assert focused_id(page) == "u-role"
    choose_with_arrows(page, "clerk")
    page.keyboard.press("Tab")
    page.keyboard.type("standesamt")
    tab_to(page, "#u-password")
    page.keyboard.type("Neues-Passwort-2026")
    page.keyboard.press("Enter")
    expect(page.locator("#users-done")).to_have_text("Das Konto ist angelegt.", timeout=SLOW)  # argon2id
    row = page.locator('#users tr[data-user="k.neu"]')
    expect(row).to_contain_text("standesamt")
    # only what applies is offered: no "unlock" for an account that is not locked, no "disable" of oneself
    expect(row.get_by_role("button", name=re.compile("Entsperren"))).to_have_count(0)
    expect(row.get_by_role("button", name=re.compile("Deaktivieren"))).to_have_count(1)
    own = page.locator(f'#users tr[data-user="{ADMIN}"]')
    expect(own.get_by_role("button", name=re.compile("Deaktivieren"))).to_have_count(0)
    csrf = page.locator("#user-form input[name=csrf]").input_value()
    refused = page.request.post(f"{server.base}/ui/users/{ADMIN}/disable", form={"csrf": csrf})
    assert refused.status == 422 and "Das eigene Konto deaktiviert" in refused.text()

    tab_to(page, '#users tr[data-user="k.neu"] summary')
    page.keyboard.press("Enter")  # opens the password form
    page.keyboard.press("Tab")
    page.keyboard.type("Anderes-Passwort-2026")
    page.keyboard.press("Tab")
    page.keyboard.type("Anderes-Passwort-2026")
    page.keyboard.press("Enter")
    expect(page.locator("#users-done")).to_have_text("Das Passwort ist geändert.", timeout=SLOW)
    check(page, "users-password-set")

    tab_to(page, 'header nav a[href$="/ui/dashboard"]')
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Übersicht")
    expect(page.locator("#kpi-ppm")).to_have_text(re.compile(r"^\d+,\d\d$"))  # a German decimal comma
    check(page, "dashboard")
