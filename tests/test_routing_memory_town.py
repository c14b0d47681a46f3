"""The town's mail that says how rare a learned word is (routing.memory.TownWords.load), from a real database: only
decided documents count (the letter being decided is not yet the town's mail), and by the postbox they went to."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session

from mailroom.model import Block, Document, Line, Page, TextSource, Word
from mailroom.settings import Settings
from mailroom.storage.db import make_engine, migrate, session_scope
from mailroom.storage.models import DocumentContentRow, DocumentRow
from routing.memory import TownWords

DPI = 72


def _letter(subject: str, body: str) -> Document:
    lines = ["Erika Muster · Lindenweg 3 · 12345 Musterstadt", "Stadt Musterstadt", "Rathausplatz 1",
             "12345 Musterstadt", subject, "Sehr geehrte Damen und Herren,", body, "Mit freundlichen Grüßen"]
    blocks = []
    for i, text in enumerate(lines):
        y = round((30 + 6 * i) * DPI / 25.4)
        words, x = [], round(25 * DPI / 25.4)
        for token in text.split():
            words.append(Word(text=token, box=(x, y, x + 5 * len(token), y + 10)))
            x += 5 * len(token) + 4
        blocks.append(Block(lines=[Line(words=words, box=(words[0].box[0], y, x, y + 10))]))
    page = Page(number=1, width=595, height=842, dpi=DPI, text_source=TextSource.TEXT_LAYER, blocks=blocks)
    return Document(pages=[page])


def _store(session: Session, n: int, state: str, postbox: str | None, document: Document) -> None:
    result = {"routing": {"status": "routed", "postbox": postbox}} if postbox else None
    row = DocumentRow(sha256=f"{n:064d}", filename=f"{n}.pdf", kind="pdf", size=1, source_channel="upload",
                      idempotency_key=f"k{n}", state=state, result_json=json.dumps(result) if result else None)
    session.add(row)
    session.flush()
    session.add(DocumentContentRow(document_id=row.id, content_json=document.model_dump_json()))


def test_only_decided_mail_counts_and_by_the_postbox_it_went_to(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    engine = make_engine(settings)
    migrate(engine)
    hive = _letter("Bienenvolk im Garten", "Wir möchten ein Bienenvolk im Garten aufstellen.")
    with session_scope(engine) as session:
        _store(session, 1, "routed", "umweltamt", hive)
        _store(session, 2, "routed", "umweltamt", hive)
        _store(session, 3, "ocr", None, hive)  # the letter being decided: not the town's mail yet
        _store(session, 4, "routed", "tiefbau", _letter("Schlagloch", "In der Gartenstraße ist ein Schlagloch."))
        _store(session, 5, "review", None, _letter("Bienenvolk", "Ein Bienenvolk hängt an unserem Zaun."))
    with session_scope(engine) as session:
        town = TownWords.load(session)
    engine.dispose()
    assert town.documents == 4
    assert town.df["bienenvolk"] == 3  # two routed to the Umweltamt, one in review; not the one in the pipeline
    assert town.postbox_documents == {"umweltamt": 2, "tiefbau": 1}
    # for the Umweltamt only the review letter is other mail; for the Tiefbau all three are
    assert town.rarity("bienenvolk", postbox="umweltamt") > town.rarity("bienenvolk", postbox="tiefbau")
    assert town.rarity("schlagloch", postbox="tiefbau") == 1.0
