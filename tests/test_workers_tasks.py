"""The tasks in this process, messages delivered by hand: duplicates, concurrent last pages, faults, the sweeper.

The OCR is real Tesseract; fakes only inject faults (an engine that fails) and record what would be enqueued.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from servicekit import SAMPLES, Database

from intake.tesseract import OcrOutput, TesseractEngine
from mailroom.errors import ToolFailed, ToolMissing
from mailroom.settings import Settings
from mailroom.storage import repository
from workers import tasks
from workers.celery_app import (
    ASSEMBLE_DOCUMENT,
    FINISH_LETTER,
    READ_PAGE,
    START_DOCUMENT,
    MailroomCelery,
    create_celery,
)
from workers.pipeline import PipelineContext, receive
from workers.sweeper import sweep


class Recorder:
    """Stands in for the broker: records what the tasks enqueue, delivers it on request."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, list[Any]]] = []
        self.lock = threading.Lock()

    def send_task(self, name: str, args: list[Any], **_: Any) -> None:
        with self.lock:
            self.sent.append((name, args))

    def take(self, name: str) -> list[list[Any]]:
        with self.lock:
            found = [args for sent, args in self.sent if sent == name]
            self.sent = [(sent, args) for sent, args in self.sent if sent != name]
        return found


class FlakyEngine(TesseractEngine):
    """Real Tesseract behind a fault: the first ``failures`` calls raise ``error``."""

    def __init__(self, settings: Settings, error: Exception, failures: int) -> None:
        super().__init__(language=settings.ocr_language, timeout=settings.ocr_timeout_seconds, psm=settings.ocr_psm)
        self.error, self.failures, self.calls = error, failures, 0

    def recognise(self, image_path: Path, out_base: Path, *, dpi: int, pdf: bool = True) -> OcrOutput:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return super().recognise(image_path, out_base, dpi=dpi, pdf=pdf)


class Harness:
    def __init__(self, tmp: Path, engine: FlakyEngine | None = None) -> None:
        self.settings = Settings(data_dir=tmp / "data", sweep_stuck_after_seconds=0.5)
        self.app: MailroomCelery = create_celery(self.settings, worker=True)
        self.app.set_default()  # also the current app of other threads
        self.engine = engine or FlakyEngine(self.settings, ToolFailed("unused"), 0)
        self.app._context = PipelineContext.create(self.settings, ocr=self.engine)
        self.broker = Recorder()
        self.app.send_task = self.broker.send_task  # type: ignore[method-assign]
        self.db = Database(self.settings)

    @property
    def ctx(self) -> PipelineContext:
        assert self.app._context is not None
        return self.app._context

    def receive(self, name: str) -> str:
        return receive(SAMPLES / name, self.ctx, channel="test", station=None).document_id

    def run(self, task: Any, *args: Any) -> None:
        result = task.apply(args=args)  # a retry runs at once, in this process
        if result.failed():
            raise result.result


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path)
    yield h
    h.db.close()


def test_duplicated_messages_change_nothing(harness: Harness) -> None:
    doc = harness.receive("0010-application_dog_tax.pdf")  # 2 scanned pages
    harness.run(tasks.start_document, doc)
    harness.run(tasks.start_document, doc)  # redelivered: the pages are planned again, nothing else happens
    pages = harness.broker.take(READ_PAGE)
    assert sorted(args[1] for args in pages) == [1, 1, 2, 2]
    for args in pages[:2]:
        harness.run(tasks.read_page, *args)
    calls = harness.engine.calls
    for args in pages[2:]:
        harness.run(tasks.read_page, *args)
    assert harness.engine.calls == calls  # a page is read once
    assemblies = harness.broker.take(ASSEMBLE_DOCUMENT)
    assert assemblies == [[doc]]  # one task found every page read
    for _ in range(2):
        harness.run(tasks.assemble_document, doc)
    harness.db.assert_exactly_once(doc, pages=2)
    harness.run(tasks.read_page, doc, 1)  # late duplicates of finished work
    harness.run(tasks.start_document, doc)
    assert harness.broker.sent == []
    harness.db.assert_exactly_once(doc, pages=2)


def test_the_last_two_pages_finishing_together_enqueue_one_assembly(harness: Harness) -> None:
    doc = harness.receive("0013-objection.tif")  # 2 pages
    harness.run(tasks.start_document, doc)
    threads = [threading.Thread(target=harness.run, args=(tasks.read_page, *args))
               for args in harness.broker.take(READ_PAGE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert harness.broker.take(ASSEMBLE_DOCUMENT) == [[doc]]


def test_an_early_assembly_waits_for_the_pages(harness: Harness) -> None:
    doc = harness.receive("0004-objection.pdf")
    harness.run(tasks.start_document, doc)
    harness.run(tasks.assemble_document, doc)  # e.g. swept while the page is still in the queue
    assert harness.db.states([doc]) == {doc: "separated"}


def test_transient_ocr_failures_are_retried(tmp_path: Path) -> None:
    h = Harness(tmp_path, FlakyEngine(Settings(), ToolFailed("tesseract crashed"), failures=2))
    doc = h.receive("0004-objection.pdf")
    h.run(tasks.start_document, doc)
    h.run(tasks.read_page, *h.broker.take(READ_PAGE)[0])  # eager retries run at once
    h.run(tasks.assemble_document, *h.broker.take(ASSEMBLE_DOCUMENT)[0])
    h.db.assert_exactly_once(doc, pages=1)
    assert h.engine.calls == 3
    h.db.close()


@pytest.mark.parametrize(("error", "failures", "code", "calls"), [
    (ToolMissing("tesseract is not installed"), 99, "tool_missing", 1 + tasks.RETRIES),  # retried: transient
    (ToolFailed("tesseract crashed"), 99, "tool_failed", 1 + tasks.RETRIES),  # transient, until retries run out
])
def test_failures_end_in_failed_with_their_code(
    tmp_path: Path, error: Exception, failures: int, code: str, calls: int
) -> None:
    h = Harness(tmp_path, FlakyEngine(Settings(), error, failures))
    doc = h.receive("0004-objection.pdf")
    h.run(tasks.start_document, doc)
    h.run(tasks.read_page, *h.broker.take(READ_PAGE)[0])
    assert h.engine.calls == calls
    with h.db.sessions() as session:
        row = repository.get_document(session, doc)
        assert row is not None and (row.state, row.error_code) == ("failed", code)
    assert h.broker.sent == []
    h.db.close()


def test_the_sweeper_resumes_each_stuck_document_once(harness: Harness) -> None:
    received = harness.receive("0004-objection.pdf")
    separated = harness.receive("0014-authority_notice.pdf")
    harness.run(tasks.start_document, separated)
    harness.broker.take(READ_PAGE)  # the page task is lost
    einvoice = harness.receive("0002-invoice.xml")
    harness.run(tasks.start_document, einvoice)
    harness.run(tasks.assemble_document, *harness.broker.take(ASSEMBLE_DOCUMENT)[0])  # recognised: not stuck
    time.sleep(0.6)
    sent: list[tuple[str, str]] = []
    report = sweep(harness.ctx, lambda name, document_id: sent.append((name, document_id)))
    assert sorted(sent) == sorted([(START_DOCUMENT, received), (START_DOCUMENT, separated)])
    assert report.resumed == {received: START_DOCUMENT, separated: START_DOCUMENT}
    assert sweep(harness.ctx, lambda *_: pytest.fail("swept twice")).resumed == {}  # touched: not stuck now
    harness.run(tasks.start_document, separated)  # what the sweeper sent: the lost page is planned again
    assert harness.broker.take(READ_PAGE) == [[separated, 1]]


def test_a_stack_is_split_and_each_letter_finishes_once(harness: Harness) -> None:
    stack = harness.receive("0012-stack.pdf")  # 2 scanned pages, 2 letters
    harness.run(tasks.start_document, stack)
    for args in harness.broker.take(READ_PAGE):
        harness.run(tasks.read_page, *args)
    assert harness.broker.take(ASSEMBLE_DOCUMENT) == [[stack]]
    for _ in range(2):  # the second assembly finds the stack split and does nothing
        harness.run(tasks.assemble_document, stack)
    letters = [args[0] for args in harness.broker.take(FINISH_LETTER)]
    assert len(letters) == 2
    for letter in letters * 2:
        harness.run(tasks.finish_letter, letter)
    states = harness.db.states([stack, *letters])
    assert states[stack] == "split" and all(states[letter] in ("routed", "review") for letter in letters), states
    with harness.db.sessions() as session:
        for letter in letters:
            events = [e.to_state for e in repository.document_events(session, letter)]
            assert len(events) == len(set(events)) and events[-1] in ("routed", "review"), events
