"""Rules administration end to end, in a real headless Chromium against a running ``mailroom serve``: an admin
edits the rule set, sees the validation error at the rule, fixes it, simulates the draft against recent mail (the
diff table), activates it, opens the explain view and rolls back."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from servicekit import SAMPLES
from uikit import PageCheck, Routed, UiServer, routed_documents, server_fixture, sign_in

ADMIN, ADMIN_PW = "it.admin", "Admin-Passwort-2026"
LETTER = "0027-enquiry.pdf"
ADMIN_COMMENT = "# Anfragen zur Meldebescheinigung bearbeitet das Standesamt (Ticket 4711)"
NEW_RULE_BROKEN = ADMIN_COMMENT + """
id: test-meldebescheinigung
priority: 1000
when: {phrase: Anfrage Meldebescheinigung}
then: {route_to: standesamt}
"""
NEW_RULE = NEW_RULE_BROKEN + "confidence: 0.99\n"


server = server_fixture("ui-admin")


@pytest.fixture(scope="module")
def setup(server: UiServer) -> Routed:
    routed = routed_documents(server, [], [LETTER], state=None)  # wherever the default rules send it
    server.user(ADMIN, "admin", ADMIN_PW)
    return routed


def active_version(server: UiServer, token: str) -> dict[str, Any]:
    with server.api(token) as client:
        overview = client.get("/rules").json()
        return dict(client.get(f"/rules/versions/{overview['active_version']}").json())


def test_admin_edits_simulates_activates_and_rolls_back_rules(
    server: UiServer, setup: Routed, page: Page, tmp_path: Path
) -> None:
    check = PageCheck(tmp_path / "screenshots")
    sign_in(page, server.base, ADMIN, ADMIN_PW)
    page.get_by_role("link", name="Regeln", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Routing-Regeln")
    expect(page.locator("#active-version")).to_have_text("Aktive Version: 1")
    check(page, "rules")

    page.locator("#new-draft").click()
    expect(page).to_have_url(re.compile(r"/ui/rules/versions/2$"))
    check(page, "rules-draft")
    page.locator("#rule-text-new").fill(NEW_RULE_BROKEN)
    page.locator("#save").click()
    # nothing saved; the error stands at the rule it belongs to
    expect(page.locator("#rules-error")).to_contain_text("Nichts wurde gespeichert")
    broken = page.locator('.rule-block[data-rule="test-meldebescheinigung"]')
    expect(broken.locator("ul.problems")).to_contain_text("confidence")
    # in German, lead and detail, with the stable code (the REST API and the CLI say it in English)
    expect(broken.locator("ul.problems")).to_contain_text("Pflichtangabe fehlt – confidence: „confidence“ fehlt. "
                                                          "[missing_field]")
    expect(broken.locator("textarea")).to_have_attribute("aria-invalid", "true")
    assert page.locator(".rule-block.has-problems").count() == 1
    check(page, "rules-draft-invalid")

    broken.locator("textarea").fill(NEW_RULE)
    # an edited text is not yet what simulate and activate work on: they wait for "Speichern"
    expect(page.locator("#unsaved")).to_be_visible()
    expect(page.locator("#activate")).to_be_disabled()
    expect(page.locator("#simulate")).to_be_disabled()
    page.locator("#save").click()
    expect(page.locator("#saved")).to_be_visible()
    expect(page.locator("#unsaved")).to_be_hidden()
    expect(page.locator("#activate")).to_be_enabled()
    expect(page.locator('.rule-block[data-rule="test-meldebescheinigung"]')).to_have_count(1)
    expect(page.locator(".rule-block.has-problems")).to_have_count(0)

    page.locator("#simulate").click()
    row = page.locator(f'#sim-changes tr[data-document="{setup.ids[LETTER]}"]')
    expect(row).to_contain_text(LETTER)
    expect(row.locator("td").nth(3)).to_contain_text("standesamt")
    expect(page.locator("#sim-totals")).to_contain_text(re.compile(r"\d+ Dokumente: unverändert \d+"))
    check(page, "rules-simulation")

    row.get_by_role("link").click()  # the explain view of the document (decided before the new rule existed)
    expect(page.get_by_role("heading", level=1)).to_contain_text(LETTER)
    expect(page.locator("#decided")).to_be_visible()
    expect(page.locator('#fired > li[data-rule="test-meldebescheinigung"]')).to_have_count(0)
    check(page, "explain")
    page.goto(f"{server.base}/ui/rules/versions/2")  # back to the draft (the simulation was a POST)

    page.locator("#activate").click()
    expect(page.locator("#rules-done")).to_have_text("Die Version ist jetzt aktiv.")
    expect(page.locator("#active-version")).to_have_text("Aktive Version: 2")
    stored = active_version(server, setup.admin)["yaml"]
    assert "test-meldebescheinigung" in stored
    # saved as written: the admin's comment, the pack's header comments and a comment inside a rule are all kept
    for comment in (ADMIN_COMMENT, "# Default routing rules of mailroom", '# "Bewerbung" for a market stall'):
        assert comment in stored, comment
    expect(page.locator("#changes")).to_contain_text("activate")
    expect(page.locator("#changes")).to_contain_text(f"admin:{ADMIN}")

    # the same letter from another station, read under the new rule: the explain view shows it fired and why
    again = server.upload(server.key("station", "poststelle-2"), SAMPLES / LETTER)
    assert server.wait_settled(setup.admin, again)["result"]["routing"]["postbox"] == "standesamt"
    page.goto(f"{server.base}/ui/documents/{again}/explain")
    fired = page.locator('#fired > li.matched[data-rule="test-meldebescheinigung"]')
    expect(fired).to_contain_text("v2")
    expect(fired.locator("li")).not_to_have_count(0)  # the because: the words it found
    check(page, "explain-new-rule")
    page.goto(f"{server.base}/ui/rules")

    page.locator("#rollback").click()
    expect(page.locator("#rules-done")).to_have_text("Die vorherige Version ist wieder aktiv.")
    expect(page.locator("#active-version")).to_have_text("Aktive Version: 3")
    assert "test-meldebescheinigung" not in active_version(server, setup.admin)["yaml"]
    check(page, "rules-rolled-back")


def test_admin_edits_directory_and_suppliers_and_reads_the_dashboard(
    server: UiServer, setup: Routed, page: Page, tmp_path: Path
) -> None:
    check = PageCheck(tmp_path / "screenshots")
    sign_in(page, server.base, ADMIN, ADMIN_PW)
    page.get_by_role("link", name="Verzeichnis", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Organisationsverzeichnis")
    check(page, "directory")
    original = page.locator("#directory").input_value()
    line = "{id: buergerbuero, name: Postkorb Bürgerbüro, department: buergerbuero}"
    assert line in original
    page.locator("#directory").fill(original.replace(line, line.replace("department: buergerbuero",
                                                                        "department: nirgendwo")))
    page.locator("#dir-save").click()
    expect(page.locator("#dir-problems")).to_contain_text("Postkorb „buergerbuero“: das Amt „nirgendwo“ gibt es nicht.")
    expect(page.locator("#directory")).to_have_attribute("aria-invalid", "true")
    check(page, "directory-invalid")
    page.locator("#directory").fill(original.replace(line, line.replace("Postkorb Bürgerbüro",
                                                                        "Postkorb Bürgerservice")))
    page.locator("#dir-save").click()
    expect(page.locator("#dir-saved")).to_be_visible()
    expect(page.locator("#dir-postboxes")).to_contain_text("Postkorb Bürgerservice")

    page.get_by_role("link", name="Lieferanten", exact=True).click()
    check(page, "suppliers")
    page.locator("#creditor_number").fill("70009")
    page.locator("#sup-name").fill("Kanzlei Obermeyer Partner")
    page.locator("#ibans").fill("DE89 3704 0044 0532 0130 01")
    page.locator("#vat_id").fill("DE458864807")
    page.locator("#sup-save").click()
    expect(page.locator("#sup-problems")).to_contain_text("Prüfziffern")
    expect(page.locator("#ibans")).to_have_attribute("aria-invalid", "true")
    page.locator("#ibans").fill("DE89 3704 0044 0532 0130 00")
    page.locator("#sup-save").click()
    expect(page.locator("#sup-done")).to_be_visible()
    expect(page.locator('#suppliers tr[data-creditor="70009"]')).to_contain_text("DE89370400440532013000")
    exported = page.request.get(f"{server.base}/ui/suppliers/export")
    assert exported.status == 200 and "70009;Kanzlei Obermeyer Partner;DE89370400440532013000" in exported.text()

    done = server.cli("audit", "export", "--json")
    assert done.returncode == 0, done.stderr
    trail = done.stdout
    assert '"directory.replaced"' in trail and '"supplier.created"' in trail and f"admin:{ADMIN}" in trail

    page.get_by_role("link", name="Übersicht", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Übersicht")
    today = page.locator("#days tbody tr").first
    expect(today.locator("td").nth(1)).not_to_have_text("0")  # the letter uploaded today
    expect(page.locator("svg.chart-svg")).to_have_count(3)
    check(page, "dashboard")

    page.get_by_role("link", name="Benutzer", exact=True).click()
    page.locator("#u-name").fill("k.neu")
    page.locator("#u-role").select_option("clerk")
    page.locator("#u-password").fill("Neues-Passwort-2026")
    page.locator("#u-create").click()  # a clerk needs a postbox: refused, said at once
    expect(page.locator("#users-error")).to_contain_text("postbox")
    page.locator("#u-postboxes").fill("standesamt")
    page.locator("#u-password").fill("Neues-Passwort-2026")
    page.locator("#u-create").click()
    expect(page.locator("#users-done")).to_have_text("Das Konto ist angelegt.")
    expect(page.locator('#users tr[data-user="k.neu"]')).to_contain_text("standesamt")
    check(page, "users")


def _new_version(server: UiServer, token: str, text: str, *, activate: bool) -> int:
    with server.api(token) as client:
        created = client.post("/rules/versions", content=text, headers={"Content-Type": "application/yaml"})
        assert created.status_code == 201, created.text
        number = int(created.json()["version"])
        if activate:
            done = client.post(f"/rules/versions/{number}/activate")
            assert done.status_code == 200, done.text
    return number


def test_a_postbox_removed_from_the_directory_is_named_in_german_where_rules_name_it(
    server: UiServer, setup: Routed, page: Page, tmp_path: Path
) -> None:
    """A postbox added, rules routed to it, the postbox removed again: the directory page lists the draft's rule,
    activating that draft and rolling back to a version naming it are refused, each problem said in German."""
    import yaml

    check = PageCheck(tmp_path / "screenshots")
    sign_in(page, server.base, ADMIN, ADMIN_PW)
    page.goto(f"{server.base}/ui/directory")
    without = page.locator("#directory").input_value()
    last_box = "  - {id: tiefbau, name: Postkorb Tiefbauamt, department: tiefbau}\n"
    assert last_box in without
    page.locator("#directory").fill(without.replace(last_box, last_box + "  - {id: testkorb, name: Testkorb, "
                                                                          "department: tiefbau}\n"))
    page.locator("#dir-save").click()
    expect(page.locator("#dir-saved")).to_be_visible()

    rules = yaml.safe_load(active_version(server, setup.admin)["yaml"])
    plain = yaml.safe_dump(rules, allow_unicode=True, sort_keys=False)
    rules["rules"].insert(0, {"id": "test-testkorb", "priority": 999, "when": {"phrase": "Anfrage Meldebescheinigung"},
                              "then": {"route_to": "testkorb"}, "confidence": 0.99})
    naming = yaml.safe_dump(rules, allow_unicode=True, sort_keys=False)
    target = _new_version(server, setup.admin, naming, activate=True)  # later the one a rollback goes back to
    _new_version(server, setup.admin, plain, activate=True)
    draft = _new_version(server, setup.admin, naming, activate=False)

    page.goto(f"{server.base}/ui/directory")
    page.locator("#directory").fill(without)
    page.locator("#dir-save").click()
    warnings = page.locator("#dir-rule-warnings")
    expect(warnings).to_contain_text(f"Regelwerk „default“, Version {draft} (Entwurf), Regel „test-testkorb“, "
                                     "then.route_to: Den Postkorb „testkorb“ gibt es im Verzeichnis")
    check(page, "directory-rule-warnings")

    page.goto(f"{server.base}/ui/rules/versions/{draft}")
    page.locator("#activate").click()
    expect(page.locator("#rules-error")).to_contain_text("Nicht aktiviert: der Entwurf hat Fehler")
    at_rule = page.locator('.rule-block[data-rule="test-testkorb"] ul.problems')
    expect(at_rule).to_contain_text("Diesen Postkorb gibt es im Verzeichnis nicht – then.route_to: Den Postkorb "
                                    "„testkorb“ gibt es im Verzeichnis")
    check(page, "rules-not-activated")

    page.goto(f"{server.base}/ui/rules")
    page.locator("#rollback").click()
    refused = page.locator("#rules-error")
    expect(refused).to_contain_text("Nicht zurückgesetzt: die frühere Version hat diese Fehler.")
    expect(refused).to_contain_text("then.route_to: Den Postkorb „testkorb“ gibt es im Verzeichnis")
    assert active_version(server, setup.admin)["version"] != target  # nothing changed
    check(page, "rules-rollback-refused")
