"""Zones, spatial relations and the default pack on REAL OCR of skewed scans (committed samples, Tesseract).

0004: objection scanned 3.2° skewed, form A, to the Sozialamt; 0007: building application photographed 4.1°
skewed with a scanner offset; 0013: TIFF objection −3°, addressed to the Rechtsamt but citing an Aktenzeichen
of the Stadtkasse.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mailroom.model import Document
from mailroom.settings import Settings
from rules import RuleSet, compile_ruleset, evaluate, load_ruleset
from rules.result_facts import facts_from_result
from rules.store import default_pack_text
from workers.inprocess import process_path
from workers.pipeline import PipelineContext

COMMITTED = Path(__file__).resolve().parent.parent / "sample_docs" / "committed"
SCANS = ["0004-objection.pdf", "0007-application_building_permit.jpg", "0013-objection.tif"]


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Document, dict[str, Any]]]:
    settings = Settings().model_copy(update={"data_dir": tmp_path_factory.mktemp("ocr-data")})
    ctx = PipelineContext.create(settings)
    out = {}
    for name in SCANS:
        outcome = process_path(COMMITTED / name, ctx)
        assert outcome.document is not None and outcome.result is not None, outcome.error
        out[name] = (outcome.document, outcome.result.to_dict())
    return out


def matched(when: dict[str, Any], document: Document) -> bool:
    ruleset = RuleSet.model_validate(
        {"version": 1, "rules": [{"id": "probe", "when": when, "then": {"tags": ["x"]}, "confidence": 0.5}]}
    )
    return evaluate(ruleset, document).trace[0].matched


def test_the_scans_are_really_skewed(scanned: dict[str, tuple[Document, dict[str, Any]]]) -> None:
    skews = {name: result["quality"]["skew_degrees"] for name, (_, result) in scanned.items()}
    assert abs(skews["0004-objection.pdf"]) > 3 and abs(skews["0007-application_building_permit.jpg"]) > 4
    assert abs(skews["0013-objection.tif"]) > 2.5


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ({"term": "Sozialamt", "in": "address_field"}, True),
        ({"term": "Sozialamt", "in": "subject"}, False),
        ({"term": "Einschreiben", "in": "address_field"}, True),
        ({"term": "Beispielheim", "in": "return_address"}, True),
        ({"term": "Fuchs", "in": "address_field"}, False),  # the sender's line is the return address
        ({"term": "Widerspruch", "in": "subject"}, True),
        ({"regex": r"50-WG-20\d\d-\d{5}", "in": "subject"}, True),
        ({"term": "Datum:", "in": "info_block"}, True),
        ({"term": "Begründung", "in": "subject"}, False),
        ({"above": ["Stadtverwaltung Musterstadt", "Sozialamt"], "in": "address_field"}, True),
        ({"below": ["Stadtverwaltung Musterstadt", "Sozialamt"]}, False),
        ({"left_of": ["Bescheid", "Widerspruch"], "in": "subject"}, True),
        ({"right_of": ["Bescheid", "Widerspruch"]}, False),
        ({"same_line": ["Rathausplatz", "1"]}, True),
        ({"same_line": ["Sozialamt", "Rathausplatz"]}, False),
        ({"near": ["Az.:", "50-WG-2026-04380"], "within_mm": 5}, True),
        ({"near": ["Einschreiben", "Begründung"], "within_mm": 20}, False),
        ({"pattern": ["Stadtverwaltung", "Sozialamt", "12345 Musterstadt"], "in": "address_field", "max_gap_mm": 12},
         True),
        ({"pattern": ["Sozialamt", "Stadtverwaltung"], "in": "address_field"}, False),
        ({"term": "Sozialamt", "in": {"page": 1, "x_mm": [20, 100], "y_mm": [40, 70]}}, True),
        ({"term": "Sozialamt", "in": {"page": 1, "x_mm": [120, 200], "y_mm": [40, 70]}}, False),
    ],
)
def test_zones_and_relations_on_a_scan_skewed_3_degrees(
    scanned: dict[str, tuple[Document, dict[str, Any]]], when: dict[str, Any], expected: bool
) -> None:
    document, _ = scanned["0004-objection.pdf"]
    assert matched(when, document) is expected


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ({"near": ["Bauvorhaben", "Flurstück"], "within_mm": 40}, True),
        ({"near": ["Bauvorhaben", "Flurstück"], "within_mm": 5}, False),
        ({"near": ["Baugenehmigung", "Flurstück"], "within_mm": 20}, False),
        ({"above": ["Bauherr", "Gemarkung"]}, True),
        ({"above": ["Bauherr", "Flurstück"]}, False),  # not in the same column
        ({"left_of": ["Flur", "Flurstück"]}, True),
        ({"left_of": ["Flurstück", "Flur"]}, False),
        ({"pattern": ["Bauherr", "Baugrundstück", "Gemarkung", "Flurstück"], "max_gap_mm": 45, "in": "first_page"},
         True),
        ({"pattern": ["Gemarkung", "Flurstück"], "max_gap_mm": 30}, False),  # 38 mm apart
        ({"term": "Bauordnungsamt", "in": "address_field"}, True),
        ({"term": "Hannover", "in": "address_field"}, False),
        ({"term": "Baugenehmigung", "in": "subject"}, True),
    ],
)
def test_bergheim_relations_on_a_photo_skewed_4_degrees(
    scanned: dict[str, tuple[Document, dict[str, Any]]], when: dict[str, Any], expected: bool
) -> None:
    document, _ = scanned["0007-application_building_permit.jpg"]
    assert matched(when, document) is expected


@pytest.mark.parametrize(
    ("name", "postbox", "rule"),
    [
        ("0004-objection.pdf", "sozialamt", "widerspruch-sozialamt"),
        ("0007-application_building_permit.jpg", "bauaufsicht", "bauantrag"),
        # addressed to the Rechtsamt, but the Aktenzeichen is the Stadtkasse's: the higher rule wins
        ("0013-objection.tif", "stadtkasse", "widerspruch-stadtkasse"),
    ],
)
def test_default_pack_routes_the_scans(
    scanned: dict[str, tuple[Document, dict[str, Any]]], name: str, postbox: str, rule: str
) -> None:
    document, result = scanned[name]
    pack = compile_ruleset(load_ruleset(default_pack_text()))
    decision = evaluate(pack, document, facts_from_result(result, document))
    assert (decision.status, decision.postbox, decision.decided_by) == ("routed", postbox, f"rule:{rule}@1")
    winner = next(t for t in decision.trace if t.rule == rule)
    assert winner.matched and any("page" in e and "box_mm" in e for e in winner.evidence)
