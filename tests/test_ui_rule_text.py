"""The rules editor keeps the text the admin wrote: the comments of a rule pack (its documentation), blank lines,
quoting and flow style survive showing a version in the editor and saving it back (no re-dump)."""

from __future__ import annotations

import yaml

from api.ui.rule_text import join_rules_text, split_rules_text
from api.ui.rules import assemble, split_yaml
from rules import load_ruleset
from rules.store import default_pack_text, with_version

SMALL = """\
# Regeln der Stadt Teststadt -- gepflegt von der Poststelle (Frau Kurz, Tel. 123)
version: 3
description: Teststadt

rules:
  # Rechnungen: immer in den Rechnungseingang
  - id: rechnungen
    priority: 70
    when: {term: Rechnung, in: subject}   # nur im Betreff
    then: {route_to: rechnungen}
    confidence: 0.9

  - id: bauantraege
    priority: 60
    when:
      all:
        # beides auf der ersten Seite
        - term: Bauantrag
        - term: Flurstück
    then: {route_to: bauamt}
    confidence: 0.85
  # Ende der Liste: neue Regeln darüber einfügen
"""


def test_the_shipped_pack_goes_through_the_editor_unchanged() -> None:
    text = with_version(default_pack_text(), 2)
    draft = split_yaml(text)
    assert draft.header.startswith("# Default routing rules of mailroom")
    assert len(draft.rules) == len(load_ruleset(text).rules)
    assert draft.rules[0].rule_id == "leitweg-id-der-stadt" and not draft.rules[0].text.startswith(" ")
    commented = next(r for r in draft.rules if r.rule_id == "bewerbung-an-personalamt")
    assert '    # "Bewerbung" for a market stall' in commented.text  # inner comment kept, moved left with its rule
    saved_draft, saved = assemble(draft.header, [r.text for r in draft.rules])
    assert saved_draft.valid and saved == text  # saving without a change writes back the very same text


def test_an_edit_keeps_every_comment_and_the_admins_own() -> None:
    draft = split_yaml(SMALL)
    assert draft.header == "# Regeln der Stadt Teststadt -- gepflegt von der Poststelle (Frau Kurz, Tel. 123)\n" \
                           "version: 3\ndescription: Teststadt"
    assert [r.rule_id for r in draft.rules] == ["rechnungen", "bauantraege"]
    assert draft.rules[0].text.startswith("# Rechnungen: immer in den Rechnungseingang\nid: rechnungen\n")
    assert draft.rules[1].text.endswith("# Ende der Liste: neue Regeln darüber einfügen")
    # the admin lowers a confidence, and adds a rule with a comment of their own (pasted with CRLF from a browser)
    texts = [draft.rules[0].text.replace("confidence: 0.9", "confidence: 0.8  # zu oft falsch (Ticket 4711)"),
             draft.rules[1].text,
             "# Hundesteuer seit 2026 beim Steueramt\r\nid: hundesteuer\r\npriority: 60\r\n"
             "when: {term: Hundesteuer}\r\nthen: {route_to: steueramt}\r\nconfidence: 0.9\r\n"]
    result, text = assemble(draft.header, texts)
    assert result.valid and text is not None
    for comment in ("# Regeln der Stadt Teststadt", "# Rechnungen: immer", "# nur im Betreff",
                    "# beides auf der ersten Seite", "# zu oft falsch (Ticket 4711)", "# Ende der Liste",
                    "# Hundesteuer seit 2026 beim Steueramt"):
        assert comment in text, comment
    assert "\r" not in text
    data = yaml.safe_load(text)
    assert [r["id"] for r in data["rules"]] == ["rechnungen", "bauantraege", "hundesteuer"]
    assert data["rules"][0]["confidence"] == 0.8 and data["rules"][2]["then"] == {"route_to": "steueramt"}
    assert load_ruleset(text).rules[2].id == "hundesteuer"
    again = split_yaml(text)  # what is stored opens again as the admin left it
    assert again.rules[2].text.startswith("# Hundesteuer seit 2026 beim Steueramt\nid: hundesteuer")


def test_problems_still_stand_at_their_rule_and_nothing_is_written() -> None:
    draft = split_yaml(SMALL)
    broken = [draft.rules[0].text, draft.rules[1].text.replace("confidence: 0.85\n", "")
              .replace("confidence: 0.85", "")]
    result, text = assemble(draft.header, broken)
    assert text is None
    assert not result.rules[0].problems
    assert [(p.code, "confidence" in p.text) for p in result.rules[1].problems] == [("missing_field", True)]
    header_with_rules, text = assemble(draft.header + "\nrules: []", [draft.rules[0].text])
    assert text is None and "own fields" in header_with_rules.header_problems[0].text


def test_texts_that_do_not_cut_cleanly_are_shown_re_dumped() -> None:
    flow = "version: 1\nrules: [{id: a, priority: 1, when: {term: x}, then: {route_to: p}, confidence: 0.9}]\n"
    assert split_rules_text(flow) is None
    draft = split_yaml(flow)
    assert [r.rule_id for r in draft.rules] == ["a"] and "route_to: p" in draft.rules[0].text
    # a piece that would not read back as written (a second document marker) is not joined: the data is dumped
    assert join_rules_text("version: 1", ["id: a\n---\nid: b"], {"version": 1}, [{"id": "a"}]) is None
