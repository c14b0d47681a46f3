"""Default models on first use, corrections as labels, retraining that learns from them, versions, rollback."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cli.main import app
from mailroom import audit
from mailroom.errors import InvalidCorrection
from mailroom.model import Block, Document, Line, Page, TextSource, Word
from mailroom.settings import Settings
from mailroom.storage import repository
from mailroom.storage.db import make_engine, migrate, session_scope
from mailroom.storage.labels import labels_of, record_correction, training_labels
from routing.router import Router, route_document
from routing.training import ensure_default_models, registries, retrain


@pytest.fixture(autouse=True, scope="module")
def _own_models_folder() -> Iterator[None]:
    """These tests train, promote and roll back: they use the models folder of their own data directory,
    not the suite's shared one (tests/conftest.py)."""
    saved = os.environ.pop("MAILROOM_MODELS_DIR", None)
    yield
    if saved is not None:
        os.environ["MAILROOM_MODELS_DIR"] = saved


DPI = 72
HIVES = ["Bienenvolk", "Bienenbeute", "Hummelkasten", "Bienenstand", "Bienenkasten", "Imkerstand", "Bienenhaus"]


def _document(lines: list[str]) -> Document:
    """A text-layer page: one line every 6 mm from 30 mm down, at 25 mm from the left."""
    blocks = []
    for i, text in enumerate(lines):
        y = round((30 + 6 * i) * DPI / 25.4)
        words, x = [], round(25 * DPI / 25.4)
        for token in text.split():
            width = 5 * len(token)
            words.append(Word(text=token, box=(x, y, x + width, y + 10)))
            x += width + 4
        blocks.append(Block(lines=[Line(words=words, box=(words[0].box[0], y, x, y + 10))]))
    page = Page(number=1, width=595, height=842, dpi=DPI, text_source=TextSource.TEXT_LAYER, blocks=blocks)
    return Document(pages=[page])


def _hive_letter(n: int) -> Document:
    """A kind of letter that neither the generator writes nor the directory's responsibilities catalogue knows:
    a hobby beekeeper asking about a hive in an allotment (the town's Umweltamt handles it)."""
    hive = HIVES[n % len(HIVES)]
    return _document(
        [
            f"Familie Gärtner · Lindenweg {n + 3} · 12345 Musterstadt",
            "Stadt Musterstadt",
            "Rathausplatz 1",
            "12345 Musterstadt",
            f"Anfrage: {hive} auf dem Grundstück Lindenweg {n + 3}",
            "Sehr geehrte Damen und Herren,",
            f"wir möchten als Hobbyimker auf unserem Grundstück aufstellen: {hive} mit etwa {20 + n} Waben.",
            "Die Nachbarn sind einverstanden, ein Abstand von zehn Metern zum Weg wird eingehalten.",
            "Wir bitten um Mitteilung, ob dafür eine Anzeige oder Erlaubnis nötig ist.",
            "Mit freundlichen Grüßen",
        ]
    )


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"))
    ensure_default_models(settings, count=300, seed=3)
    return settings


@pytest.fixture()
def session(settings: Settings) -> Iterator[Session]:
    engine = make_engine(settings)
    migrate(engine)
    with session_scope(engine) as session:
        yield session


def _stored(session: Session, document: Document, n: int) -> str:
    row, _ = repository.receive_document(
        session,
        sha256=f"{n:064x}",
        filename=f"tree-{n}.pdf",
        kind="pdf",
        size=1,
        pages=1,
        channel="test",
        station=None,
        original_sha=None,
    )
    repository.save_result(session, row, None, document.model_dump_json())
    return row.id


def test_default_models_are_trained_once(settings: Settings) -> None:
    types, postboxes = registries(settings)
    assert (types.versions(), postboxes.versions()) == ([1], [1])
    again = ensure_default_models(settings, count=300, seed=3)
    assert (again.document_type.version, again.postbox.version) == (1, 1)
    assert (types.versions(), postboxes.versions()) == ([1], [1])


def test_corrections_are_validated(session: Session) -> None:
    document_id = _stored(session, _hive_letter(99), 99)
    with pytest.raises(InvalidCorrection):
        record_correction(session, document_id, kind="colour", value="red", who="clerk")
    with pytest.raises(InvalidCorrection):
        record_correction(session, document_id, kind="reroute", value="", who="clerk")
    with pytest.raises(InvalidCorrection):
        record_correction(session, "0" * 32, kind="type", value="enquiry", who="clerk")
    record_correction(session, document_id, kind="fields", value={"iban": "DE89370400440532013000"}, who="clerk")
    assert [label.value for label in labels_of(session, document_id)] == [{"iban": "DE89370400440532013000"}]
    assert training_labels(session) == []  # field fixes teach the invoice reader, not the routing models


def test_a_correction_changes_the_next_decision_for_a_similar_letter(settings: Settings, session: Session) -> None:
    before = route_document(_hive_letter(0), Router.create(settings)).routing
    assert before.postbox != "umweltamt"
    for n in range(1, 9):
        document_id = _stored(session, _hive_letter(n), n)
        record_correction(session, document_id, kind="reroute", value="umweltamt", who="poststelle")
        record_correction(session, document_id, kind="type", value="enquiry", who="poststelle")
    session.commit()
    assert len(training_labels(session)) == 8
    report = retrain(settings, session, count=300, seed=3, actor="cli:trainer")
    assert report.correction_rows == 7  # every fifth corrected document is held back
    assert report.postbox.promoted, report.postbox.reason
    session.commit()
    entries = [e for e in audit.export(session) if e["object_type"] == "model"]
    trained = [e for e in entries if e["action"] == "models.trained"]
    assert len(trained) == 1 and trained[0]["actor"] == "cli:trainer"
    assert trained[0]["details"]["correction_rows"] == 7
    assert trained[0]["details"]["postbox"]["promoted"] is True
    assert trained[0]["details"]["postbox"]["version"] == report.postbox.version
    promoted = {e["object_id"] for e in entries if e["action"] == "model.promoted"}
    assert f"postbox:{report.postbox.version}" in promoted
    assert (f"doctype:{report.document_type.version}" in promoted) == report.document_type.promoted
    # routed as the pipeline routes: with the session, so that the reviewers' corrections count at once too
    # (routing.memory) besides the retrained models
    after = route_document(_hive_letter(0), Router.create(settings), session=session)
    assert (after.routing.status, after.routing.postbox) == ("routed", "umweltamt"), after.routing
    assert after.document_type.label == "enquiry"


def test_models_list_and_rollback(settings: Settings) -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["models", "list", "--json", "--data-dir", str(settings.data_dir)])
    assert listed.exit_code == 0, listed.output
    kinds = {(m["kind"], m["version"]): m["current"] for m in json.loads(listed.stdout)}
    assert kinds[("postbox", 2)] is True and kinds[("postbox", 1)] is False
    rolled = runner.invoke(app, ["models", "rollback", "--kind", "postbox", "--data-dir", str(settings.data_dir)])
    assert rolled.exit_code == 0, rolled.output
    assert registries(settings)[1].current_version() == 1
    again = runner.invoke(app, ["models", "rollback", "--kind", "postbox", "--data-dir", str(settings.data_dir)])
    assert again.exit_code == 1  # nothing earlier to roll back to
    assert again.stderr.startswith("error: model_not_found: no earlier postbox model")
    assert "Traceback" not in again.output
    with session_scope(make_engine(settings), readonly=True) as session:
        rollbacks = [e for e in audit.export(session) if e["action"] == "model.rolled_back"]
    assert len(rollbacks) == 1 and rollbacks[0]["actor"].startswith("cli")
    assert rollbacks[0]["object_id"] == "postbox:1" and rollbacks[0]["details"]["from_version"] == 2


def test_directory_import(settings: Settings, tmp_path: Path) -> None:
    csv = tmp_path / "amt.csv"
    csv.write_text("kind,id,name,department,last_name\ndepartment,bauamt,Bauamt,,\nperson,huber,,bauamt,Huber\n")
    runner = CliRunner()
    done = runner.invoke(app, ["directory", "import", str(csv), "--data-dir", str(settings.data_dir)])
    assert done.exit_code == 0, done.output
    assert (settings.data_dir / "directory.csv").exists()
    with session_scope(make_engine(settings), readonly=True) as session:
        (entry,) = [e for e in audit.export(session) if e["action"] == "directory.replaced"]
    assert entry["actor"].startswith("cli:") and entry["details"]["departments"] == 1
    broken = tmp_path / "broken.csv"
    broken.write_text("kind,id,name,department,last_name\nperson,huber,,nowhere,Huber\n")
    refused = runner.invoke(app, ["directory", "import", str(broken), "--data-dir", str(settings.data_dir)])
    assert refused.exit_code != 0
    (settings.data_dir / "directory.csv").unlink()
