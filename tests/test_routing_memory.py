"""Reviewers' corrections help the next letters of that kind at once (routing.memory), without retraining."""

from __future__ import annotations

from classifiers.doctype import TypePrediction
from classifiers.recipient import match_recipient
from classifiers.samples import Sample
from mailroom.directory import default_directory
from routing.decision import MEMORY_STRENGTH, RoutingPolicy, decide
from routing.memory import CorrectionMemory, memory_factors
from routing.recognition import Recognition, load_type_routes
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
