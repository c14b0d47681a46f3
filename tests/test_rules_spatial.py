"""Spatial relations and patterns, on straight and on skewed pages (residual skew of a few degrees)."""

from __future__ import annotations

import pytest
from test_rules_builder import TextLine, check, letter

FORM: list[TextLine] = [
    (25, 150, "Aktenzeichen: 63-2026-0815", 11),
    (25, 160, "Bauantrag Neubau Einfamilienhaus", 11),
    (120, 150, "Eingangsstempel", 11),
    (25, 175, "Bauamt", 11),
    (150, 200, "Verwaltungsgebühr", 11),
]
SKEWS = [0.0, 2.5, -3.0]


@pytest.mark.parametrize("skew", SKEWS)
@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ({"near": ["Aktenzeichen", "Bauantrag"], "within_mm": 10}, True),
        ({"near": ["Aktenzeichen", "Verwaltungsgebühr"], "within_mm": 30}, False),
        ({"left_of": ["Aktenzeichen", "Eingangsstempel"]}, True),
        ({"left_of": ["Eingangsstempel", "Aktenzeichen"]}, False),
        ({"right_of": ["Eingangsstempel", "Aktenzeichen"]}, True),
        ({"left_of": ["Aktenzeichen", "Eingangsstempel"], "within_mm": 20}, False),
        ({"same_line": ["63-2026-0815", "Eingangsstempel"]}, True),
        ({"same_line": ["Bauantrag", "Eingangsstempel"]}, False),
        ({"above": ["Aktenzeichen", "Bauantrag"]}, True),
        ({"above": ["Bauantrag", "Aktenzeichen"]}, False),
        ({"below": ["Bauamt", "Aktenzeichen"]}, True),
        ({"above": ["Eingangsstempel", "Bauamt"]}, False),  # not in the same column
    ],
)
def test_relations(when: dict[str, object], expected: bool, skew: float) -> None:
    assert check(when, letter(extra=FORM, skew=skew)).matched is expected


@pytest.mark.parametrize("skew", SKEWS)
def test_pattern_in_order_within_a_region(skew: float) -> None:
    doc = letter(extra=FORM, skew=skew)
    region = {"page": 1, "x_mm": [20, 200], "y_mm": [140, 210]}
    assert check({"pattern": ["Aktenzeichen", "Bauantrag", "Bauamt"], "in": region}, doc).matched
    assert check({"pattern": ["Aktenzeichen", "Eingangsstempel", "Bauantrag"], "in": region}, doc).matched
    assert not check({"pattern": ["Bauamt", "Bauantrag"], "in": region}, doc).matched
    assert not check({"pattern": ["Aktenzeichen", "Bauamt"], "in": region, "max_gap_mm": 10}, doc).matched
    assert check({"pattern": ["Aktenzeichen", "Bauamt"], "in": region, "max_gap_mm": 25}, doc).matched
    outside = {"page": 1, "x_mm": [20, 200], "y_mm": [155, 210]}
    assert not check({"pattern": ["Aktenzeichen", "Bauantrag"], "in": outside}, doc).matched


def test_pattern_with_phrases_and_fuzzy_words_gives_evidence() -> None:
    doc = letter(
        extra=[(25, 150, "Aktenzeichen: 63-2026-0815", 11), (25, 160, "Bauantraq Neubau Einfamilienhaus", 11)]
    )
    trace = check({"pattern": ["Aktenzeichen", "Bauantrag Neubau"], "fuzzy": 0.85}, doc)
    assert trace.matched
    words = [e["words"] for e in trace.evidence]  # type: ignore[attr-defined]
    assert words == [["Aktenzeichen:"], ["Bauantraq", "Neubau"]]


def test_relation_trace_names_both_words_and_distance() -> None:
    trace = check({"near": ["Aktenzeichen", "Bauantrag"], "within_mm": 10}, letter(extra=FORM))
    assert trace.because[0].startswith("'Aktenzeichen' near 'Bauantrag' within 10 mm")
    assert "mm apart on page 1" in trace.because[0]
    assert len(trace.evidence) == 2  # type: ignore[attr-defined]
