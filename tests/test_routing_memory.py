"""Reviewers' corrections help the next letters of that kind at once (routing.memory), without retraining."""

from __future__ import annotations

from dataclasses import replace

from classifiers.doctype import TypePrediction
from classifiers.recipient import match_recipient
from classifiers.responsibilities import catalogue_for
from classifiers.samples import Sample
from mailroom.directory import default_directory
from routing.decision import MEMORY_STRENGTH, RoutingPolicy, decide
from routing.memory import (
    CorrectionMemory,
    TownWords,
    letter_terms,
    memory_factors,
    shared_parts,
    terms_match,
)
from routing.recognition import Recognition, load_type_routes
from routing.router import Router, weaken_overruled
from rules.decision import Decision

DIRECTORY = default_directory()
POLICY = RoutingPolicy(routes=load_type_routes())

# a kind of letter the catalogue does not know: requests for a memorial bench, each worded differently
KIND = [
    ("Gedenkbank für meinen Vater", "Ich möchte eine Gedenkbank mit Widmungsplakette im Kurpark stiften."),
    ("Widmungsbank", "Wir würden gern eine Bank mit Gedenkplakette für unsere verstorbene Oma aufstellen lassen."),
    ("Anfrage Gedenkbank", "Besteht die Möglichkeit, eine Gedenkbank mit Plakette am Weiher zu spenden?"),
    ("Bank mit Plakette", "Für unseren Opa möchten wir eine Gedenkbank samt Widmungsplakette am Teichufer stiften."),
]
OTHER = ("Hallenzeiten", "Unser Verein bittet um zusätzliche Hallenzeiten in der Sporthalle am Dienstag.")


def _recognition(subject: str, body: str) -> Recognition:
    text = f"Stadtverwaltung Musterstadt\nRathausplatz 1\n12345 Musterstadt\n{subject}\n{body}"
    spread = {"enquiry": 0.4, "complaint": 0.3, "invitation": 0.3}
    content = {box: 1 / len(DIRECTORY.postboxes) for box in DIRECTORY.postboxes}
    return Recognition(
        sample=Sample(text, subject, "Stadtverwaltung Musterstadt\nRathausplatz 1\n12345 Musterstadt"),
        zones=None,
        recipient=match_recipient(["Stadtverwaltung Musterstadt", "Rathausplatz 1"], DIRECTORY),
        document_type=TypePrediction("enquiry", 0.4, spread),
        document_type_by="model:doctype@1",
        postbox=TypePrediction("umweltamt", content["umweltamt"], content),
        postbox_by="model:postbox@1",
        addressed_postbox=None,
    )


def _with_catalogue(subject: str, body: str) -> Recognition:
    recognition = _recognition(subject, body)
    sample = recognition.sample
    evidence = catalogue_for(DIRECTORY).content_evidence(sample.text, sample.subject, sample.address)
    return replace(recognition, catalogue=tuple(evidence))


def _route(memory: CorrectionMemory, subject: str, body: str) -> tuple[str, str | None]:
    recognition = _recognition(subject, body)
    learned = memory_factors(memory.evidence(recognition.sample), MEMORY_STRENGTH)
    routing = decide(recognition, Decision(ruleset_version=1), directory=DIRECTORY, policy=POLICY, learned=learned)
    return routing.routing.status, routing.routing.postbox


def test_the_fourth_letter_of_a_new_kind_routes_itself_after_three_corrections() -> None:
    corrected: list[tuple[Sample, str]] = []
    outcomes = []
    for subject, body in KIND:
        outcomes.append(_route(CorrectionMemory.from_examples(corrected), subject, body))
        corrected.append((_recognition(subject, body).sample, "umweltamt"))  # the reviewer's decision
    assert outcomes[0][0] == "review"  # unknown at first: never guessed
    assert outcomes[3] == ("routed", "umweltamt")
    # a letter of another kind is not pulled along
    assert _route(CorrectionMemory.from_examples(corrected), *OTHER) != ("routed", "umweltamt")


def test_contradicting_corrections_do_not_route() -> None:
    samples = [_recognition(s, b).sample for s, b in KIND[:3]]
    memory = CorrectionMemory.from_examples([(samples[0], "umweltamt"), (samples[1], "tiefbau"),
                                             (samples[2], "umweltamt")])
    assert _route(memory, *KIND[3])[0] == "review"


# one kind (memorial stones), each letter in its sender's own words: they share a few rare words, little else
STONES = [
    ("Verlegung von Stolpersteinen", "Unsere Geschichtswerkstatt möchte vor dem Haus zwei Stolpersteine für die "
     "deportierten Geschwister verlegen lassen. Wir bitten um Zustimmung und Unterstützung bei der Gedenkfeier."),
    ("Gedenken an meine Großeltern", "Meine Großeltern wurden verfolgt und ermordet. Ich würde gern vor ihrem "
     "letzten Wohnort einen Stolperstein setzen lassen. Welche Unterlagen brauchen Sie für das Gedenken?"),
    ("Stolperstein verschmutzt", "Der Gedenkstein für Frieda Levy ist verschmutzt, die Messingplatte verkratzt. "
     "Können Sie die Reinigung der Stolpersteine veranlassen? Die Klasse würde beim Putzen helfen."),
    ("Patenschaft", "Ich möchte die Kosten für einen Stolperstein tragen. Herr Katz lebte bis zu seiner "
     "Deportation in der Mühlenstraße. Wie läuft die Verlegung des Gedenksteins ab?"),
]


def test_differently_worded_letters_of_a_kind_teach_their_shared_rare_words() -> None:
    samples = [_recognition(s, b).sample for s, b in STONES]
    # worded so differently that whole-letter similarity alone would not count them alike
    memory = CorrectionMemory.from_examples([(s, "schulamt") for s in samples[:3]])
    learned = {t.term for t in memory.vocabulary["schulamt"]}
    assert "gedenk" in learned and any(t.startswith("stolperstei") for t in learned)  # in two letters or more
    assert "putz" not in learned and "messingplatt" not in learned  # in one letter only
    assert _route(memory, *STONES[3]) == ("routed", "schulamt")
    # whole-letter similarity alone (the learned words left out) would not have routed it
    memory.vocabulary = {}
    assert _route(memory, *STONES[3])[0] == "review"
    assert _route(CorrectionMemory.from_examples([]), *STONES[3])[0] == "review"  # without corrections: unknown
    # an unrelated letter is not pulled along
    assert _route(memory, *OTHER) != ("routed", "schulamt")


def test_one_correction_teaches_no_words() -> None:
    """A single corrected letter never makes its words evidence: only near-copies of it are pulled."""
    samples = [_recognition(s, b).sample for s, b in STONES]
    memory = CorrectionMemory.from_examples([(samples[0], "schulamt")])
    assert memory.vocabulary == {}
    assert memory.shared_words(samples[3]) == {}
    assert _route(memory, *STONES[3])[0] == "review"


def test_words_common_in_the_towns_mail_are_no_evidence() -> None:
    samples = [_recognition(s, b).sample for s, b in STONES[:3]]
    rare = CorrectionMemory.from_examples([(s, "schulamt") for s in samples])
    # a town whose stored mail is full of memorial stones: the word says nothing about this kind any more
    busy = TownWords.of([letter_terms(s) for s in samples] * 400)
    common = CorrectionMemory.from_examples([(s, "schulamt") for s in samples], town=busy)
    letter = _recognition(*STONES[3]).sample
    assert "stolperstei" in rare.shared_words(letter).get("schulamt", {})
    assert "stolperstei" not in common.shared_words(letter).get("schulamt", {})


def test_a_kinds_letters_in_its_own_postbox_do_not_make_its_words_common() -> None:
    """Rarity by postbox: letters of the kind that went to its postbox (routed there or corrected there) are not
    'other mail'; the same letters in other postboxes are (a young town's handful of letters would otherwise make
    the kind's own words common: the fourth letter of a kind stayed in review)."""
    samples = [_recognition(s, b).sample for s, b in STONES[:3]]
    letter = _recognition(*STONES[3]).sample
    terms = [letter_terms(s) for s in [*samples, letter]]
    own = TownWords.of_decided([(t, "schulamt") for t in terms] * 30 + [(set(), "tiefbau")] * 50)
    assert own.rarity("stolperstei", postbox="schulamt") == 1.0
    assert own.rarity("stolperstei", postbox="tiefbau") == 0.0  # elsewhere the word is all over the mail
    memory = CorrectionMemory.from_examples([(s, "schulamt") for s in samples], town=own)
    assert "stolperstei" in memory.shared_words(letter).get("schulamt", {})
    elsewhere = TownWords.of_decided([(t, "umweltamt") for t in terms] * 30 + [(set(), "tiefbau")] * 50)
    memory = CorrectionMemory.from_examples([(s, "schulamt") for s in samples], town=elsewhere)
    assert "stolperstei" not in memory.shared_words(letter).get("schulamt", {})


def test_terms_match_compound_heads_modifiers_and_ocr_slips() -> None:
    assert terms_match("stein", "gedenkstein")  # the compound's head
    assert terms_match("gedenk", "gedenkfeier")  # its first part, when long enough
    assert terms_match("balkonkraftwerk", "balkonkraftwcrk")  # one OCR slip in a long word
    assert not terms_match("samt", "amt") and not terms_match("stein", "steinbruch")
    assert not terms_match("plakette", "paket")


BEES = [
    ("Platz für Bienenvölker", "Als Hobbyimker suche ich einen Platz für vier Bienenvölker auf der Streuobstwiese."),
    ("Schwarm in der Hecke", "In unserer Hecke hängt ein großer Bienenschwarm. Wer fängt ihn ein?"),
    ("Blühstreifen", "Bitte säen Sie die Rasenflächen an der Umgehungsstraße als Bienenweide ein."),
    ("Faulbrut", "In meinem Bienenstand wurde Faulbrut festgestellt. Welche Sperrmaßnahmen gelten jetzt?"),
]


def test_senders_naming_one_thing_in_different_compounds_teach_its_shared_part() -> None:
    """Bienenvolk, Bienenschwarm, Bienenweide: no two letters share a word, all share "Bienen-"; the fourth
    letter's "Bienenstand" is a learned word after three corrections. A part of one letter's words alone is none."""
    letters = [frozenset(letter_terms(_recognition(s, b).sample)) for s, b in BEES]
    assert "bienen" in shared_parts(letters[:2])
    assert shared_parts([frozenset({"funk-antenn", "laien-defi"})]) == {"antenn"}  # hyphenated: its long parts
    assert shared_parts([frozenset({"bienenvolk", "bienenschwarm"})]) == set()  # one letter's own words
    assert shared_parts([frozenset({"stadtpark"}), frozenset({"stadthall"})]) == set()  # "stadt": too short
    memory = CorrectionMemory.from_examples([(_recognition(s, b).sample, "umweltamt") for s, b in BEES[:3]])
    assert "bienen" in {t.term for t in memory.vocabulary["umweltamt"]}
    fourth = _recognition(*BEES[3]).sample
    assert "bienenstand" in memory.shared_words(fourth).get("umweltamt", {})  # by the part its compound shares
    assert memory.evidence(fourth)["umweltamt"].votes >= 0.5
    assert "umweltamt" not in memory.shared_words(_recognition(*OTHER).sample)


def test_corrections_that_overruled_the_catalogue_weaken_its_words_for_similar_letters() -> None:
    """Letters about church bells (noise → Ordnungsamt by the catalogue) corrected to the Hauptamt: the next
    such letter's catalogue evidence for the noise words is weaker; a plain noise complaint's is not."""
    bells = [
        ("Glockengeläut", "Das Glockengeläut der Kirche um sechs Uhr ist Lärm. Können die Glocken später läuten?"),
        ("Kirchenglocken", "Die Kirchenglocken läuten jede Viertelstunde, auch nachts. Der Lärm weckt uns."),
        ("Läuten", "Wir bitten, das nächtliche Läuten der Glocken einzustellen, es ist unzumutbarer Lärm."),
    ]
    router = Router(directory=DIRECTORY, models=None, policy=POLICY)  # type: ignore[arg-type]
    samples = [_recognition(s, b).sample for s, b in bells]
    lost = [router.overruled_words(s, "hauptamt") for s in samples]
    assert sum(("ordnungsamt", "Lärm") in gone for gone in lost) >= 2
    memory = CorrectionMemory.from_examples([(s, "hauptamt") for s in samples], overruled=lost)
    nxt = _with_catalogue("Glocken", "Das Läuten der Glocken am Sonntag früh ist Lärm, bitte prüfen Sie das.")
    learned = memory_factors(memory.evidence(nxt.sample), MEMORY_STRENGTH)
    assert "hauptamt" in learned

    def noise(recognition: Recognition) -> float:
        return sum(e.score for e in recognition.catalogue if e.department == "ordnungsamt")

    assert noise(nxt) > 0
    assert noise(weaken_overruled(nxt, memory, learned, DIRECTORY)) <= noise(nxt) / 4
    plain = _with_catalogue("Ruhestörung", "Die Nachbarn machen jede Nacht Lärm.")
    plain_learned = memory_factors(memory.evidence(plain.sample), MEMORY_STRENGTH)
    assert noise(weaken_overruled(plain, memory, plain_learned, DIRECTORY)) == noise(plain)


def test_one_learned_word_counts_once_however_many_of_its_forms_a_letter_has() -> None:
    """Three corrected letters share "Auftrag": a contract naming Auftrag, Auftragnehmer and Auftraggeber has the
    learned word once (it counted three times and pulled contracts to wherever three letters had gone)."""
    corrected = [_recognition("Auftrag", f"Wir erteilen den Auftrag für die Lieferung Nummer {n}.").sample
                 for n in range(3)]
    memory = CorrectionMemory.from_examples([(s, "schulamt") for s in corrected])
    contract = _recognition("Vertrag", "Der Auftragnehmer erfüllt den Auftrag, der Auftraggeber zahlt.").sample
    assert len(memory.shared_words(contract)["schulamt"]) == 1
