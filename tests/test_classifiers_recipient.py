"""Recipient matching: OCR noise, aliases, former names, persons who moved, confidential mail, references."""

from __future__ import annotations

import pytest

from classifiers.recipient import match_recipient, normalise
from mailroom.directory import default_directory

D = default_directory()
HEAD, STREET, CITY = "Stadtverwaltung Musterstadt", "Rathausplatz 1", "12345 Musterstadt"


@pytest.mark.parametrize(
    ("middle", "department", "kind"),
    [
        (["Kämmerei"], "kaemmerei", "name"),
        (["Amt für Finanzen"], "kaemmerei", "alias"),
        (["Fachbereich 3"], "ordnungsamt", "alias"),
        (["Stadtkämmerei"], "kaemmerei", "former_name"),
        (["Amt für Kinder, Jugend und Familie"], "jugendamt", "former_name"),
        (["Tiefbauamt (Amt 66)"], "tiefbau", "name"),
        (["Bauaufsichtsarnt"], "bauaufsicht", "name"),  # OCR: m -> rn
        (["Arnt fur Soziales und W0hnen"], "sozialamt", "alias"),  # OCR: m -> rn, ü -> u, o -> 0
        (["Burgerburo"], "buergerbuero", "name"),
    ],
)
def test_department_names_aliases_and_ocr_noise(middle: list[str], department: str, kind: str) -> None:
    m = match_recipient([HEAD, *middle, STREET, CITY], D)
    assert (m.department, m.person, m.source) == (department, None, "address")
    assert kind in {e.kind for e in m.evidence}
    assert 0.8 < m.confidence <= 1.0


def test_department_in_the_head_line() -> None:
    m = match_recipient([f"{HEAD} / Standesamt", STREET, CITY], D)
    assert m.department == "standesamt"


@pytest.mark.parametrize(
    ("lines", "person", "department"),
    [
        ([HEAD, "Kämmerei", "z. Hd. Herrn Dr. Meier"], "meier", "kaemmerei"),
        ([HEAD, "Amt für Finanzen", "z.Hd. Frau Schmltz"], "schmitz", "kaemmerei"),  # OCR i -> l
        ([HEAD, "Personalabteilung", "Herrn Yilmaz"], "yilmaz", "personalamt"),  # dotless ı read as i
        ([HEAD, "Herrn Dipl.-Ing. Bernd Krause"], "krause", "stadtplanung"),
    ],
)
def test_persons(lines: list[str], person: str, department: str) -> None:
    m = match_recipient([*lines, STREET, CITY], D)
    assert (m.person, m.department, m.confidential) == (person, department, False)


def test_person_who_moved_goes_to_the_current_department() -> None:
    # Frau Lorenz moved from the Kämmerei to the Hauptamt (Zentrale Vergabestelle).
    m = match_recipient([HEAD, "Kämmerei", "z. Hd. Frau Lorenz", STREET, CITY], D)
    assert (m.person, m.department) == ("lorenz", "hauptamt")
    moved = [e for e in m.evidence if e.kind == "person_moved"]
    assert moved and moved[0].text == "kaemmerei"


@pytest.mark.parametrize(
    ("lines", "endorsement"),
    [
        ([HEAD, "Herrn Dr. Meier - persönlich -"], None),
        ([HEAD, "Kämmerei", "Herrn Dr. Meier"], "Persönlich/Vertraulich"),
        ([HEAD, "Kämmerei", "Herrn Dr. Meier"], "Vertraulich"),
        ([HEAD, "Herrn Dr. Meler - persönllch -"], None),  # OCR noise in name and marker
    ],
)
def test_confidential_for_the_named_person(lines: list[str], endorsement: str | None) -> None:
    m = match_recipient([*lines, STREET, CITY], D, endorsement=endorsement)
    assert (m.person, m.department, m.confidential) == ("meier", "kaemmerei", True)


def test_registered_mail_is_not_confidential() -> None:
    m = match_recipient([HEAD, "Kämmerei", STREET, CITY], D, endorsement="Einschreiben")
    assert not m.confidential


def test_town_only_uses_aktenzeichen_from_info_block_then_text() -> None:
    lines = ["Stadt Musterstadt", STREET, CITY]
    m = match_recipient(lines, D, your_reference="22.1-2026-00042")
    assert (m.department, m.source, m.addressed_department) == ("steueramt", "aktenzeichen", None)
    assert m.evidence[0].kind == "aktenzeichen_info"
    m = match_recipient(lines, D, text="Widerspruch gegen den Bescheid, Az. 63-2026-0815, vom 3.3.2026")
    assert (m.department, m.evidence[0].kind) == ("bauaufsicht", "aktenzeichen_text")
    assert m.confidence < 0.8


def test_town_only_with_leitweg_id() -> None:
    m = match_recipient(["Stadt Musterstadt", STREET, CITY], D, text="Leitweg-ID: 123450000000-RE01-10")
    assert (m.department, m.source) == ("kaemmerei", "leitweg_id")


def test_the_town_alone_is_no_department() -> None:
    # "Stadtkasse Musterstadt" (an alias) resembles "Stadt Musterstadt": the town must not match it.
    m = match_recipient(["An die Stadt Musterstadt", "Postfach 10 11 20", "12301 Musterstadt"], D)
    assert (m.department, m.person, m.confidence) == (None, None, 0.0)
    assert m.to_result().department is None


def test_result_contract() -> None:
    m = match_recipient([HEAD, "Amt für Finanzen", "z. Hd. Frau Schmitz", STREET, CITY], D)
    r = m.to_result()
    assert (r.department, r.person) == ("kaemmerei", "schmitz")
    assert r.text == "\n".join([HEAD, "Amt für Finanzen", "z. Hd. Frau Schmitz", STREET, CITY])
    assert normalise("Bürgerbüro  (Amt 33)") == "burgerburo amt 33"


@pytest.mark.parametrize(
    "lines",
    [
        ["Stadt Musterstadt – Der Bürgermeister –"],  # the authority's formula on the town's line
        ["Stadt Musterstadt / Der Bürgermeister"],
        ["Stadt Musterstadt", "Büro des Bürgerbeauftragten"],  # "Bürger" is no Bürgerbüro
        ["Stadt Musterstadt", "Büro des Beigeordneten"],  # "-ordnet-" is no Ordnungsamt
        ["Stadt Musterstadt", "Büro der Bürgerstiftung"],
        ["Herrn Bürgermeister Klaus Weber", "Stadt Musterstadt"],  # not Michael Weber of the Ordnungsamt
    ],
)
def test_lines_that_only_resemble_a_unit_or_a_person_name_none(lines: list[str]) -> None:
    m = match_recipient([*lines, STREET, CITY], D)
    assert m.department is None and m.person is None, m.evidence


@pytest.mark.parametrize(
    ("lines", "department"),
    [
        (["Stadt Musterstadt", "Büro des Oberbürgermeisters"], "buergermeisterbuero"),
        (["Herrn Bürgermeister Markus Hoffmann", "Stadt Musterstadt"], "buergermeisterbuero"),
        (["z. Hd. Herrn M. Weber", "Stadt Musterstadt"], "ordnungsamt"),  # an initial that fits
        (["Stadt Musterstadt", "Fachdienst Öffentliche Sicherheit und Ordnung"], "ordnungsamt"),
    ],
)
def test_units_and_persons_still_named(lines: list[str], department: str) -> None:
    assert match_recipient([*lines, STREET, CITY], D).department == department
