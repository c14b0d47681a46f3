"""Learning measured on kinds of letters the project did not know: after how many reviewers' corrections does the
next letter of a kind route itself, and do the later ones stay right? (issue 14)

    .venv/bin/python bench/bench_learning.py tests/data/independent/letters2/kinds [--json] [--models-dir DIR]

``DIR`` holds letters with a truth file each (``STEM.truth.json`` or ``FILE.truth.json``: ``"postbox"`` and
``"kind"``; letters of one kind are taken in file-name order). Per kind, as a town that meets the kind for the
first time:

1. a fresh data directory (database, blobs; the default models of ``--models-dir``, the shipped rule pack and
   directory), so that no kind learns from another;
2. every letter of the kind runs through the real pipeline (``workers.inprocess.process_path``: reading, OCR,
   recognition, rules, decision with the routing memory of that data directory);
3. a letter that is not routed to the truth postbox (in review, or routed elsewhere) is decided by the
   reviewer through the same service the REST API and the web UI call (``api.review.apply_decision``: the
   re-route label that :mod:`routing.memory` learns from, audit, state);
4. reported per letter: ``+`` routed itself to the right postbox, ``r`` review (corrected), ``x`` routed
   wrong (corrected); per kind: the corrections made before the first letter that routed itself, and of the
   letters after it how many routed right, went to review, went wrong.

**Known kinds.** When a letter routes itself right before any correction, the project already knew the kind
(the catalogue, a rule or the models): the kind is marked ``known`` with what decided. For a kind the
responsibilities catalogue knows, the run is repeated with the catalogue's tasks that the kind's letters hit
removed from a copy of the directory (installed in that kind's fresh data directory), so that the kind is
unknown and learning is measured all the same (``without``: the tasks removed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from api.review import apply_decision  # noqa: E402
from mailroom.directory import DEFAULT_PATH  # noqa: E402
from mailroom.evaluation import load_truth  # noqa: E402
from mailroom.settings import Settings  # noqa: E402
from mailroom.storage import repository  # noqa: E402
from mailroom.storage.db import session_scope  # noqa: E402
from mailroom.storage.models import DocumentState  # noqa: E402
from routing.router import Router, install_directory, recognise_document, route_document  # noqa: E402
from workers.inprocess import expand_inputs, process_path  # noqa: E402
from workers.pipeline import PipelineContext  # noqa: E402

REVIEWER = "reviewer:bench-learning"


@dataclass
class LetterStep:
    """One letter of a kind as it went: before it, how many corrections the memory held."""

    file: str
    corrections_before: int
    status: str  # routed | review | rescan | failed
    postbox: str | None
    decided_by: str | None
    right: bool
    corrected: bool
    without_memory: str | None = None  # where the same letter goes without any correction (the baseline)
    memory: str = ""  # what the corrections said for this letter: "votes/letters/best similarity" per postbox
    reason: str = ""  # why it went to review (the first reason), or what decided

    @property
    def mark(self) -> str:
        return "+" if self.right else ("x" if self.status == "routed" else "r")


@dataclass
class KindRun:
    """A kind's letters in order, with the directory it ran with."""

    kind: str
    postbox: str
    without: list[str] = field(default_factory=list)  # catalogue tasks removed for this run ("dept: task")
    steps: list[LetterStep] = field(default_factory=list)
    catalogue_tasks: list[str] = field(default_factory=list)  # tasks of the truth's department its letters hit

    @property
    def known_by(self) -> str | None:
        """What routed a letter right before any correction (the project knew the kind), else None."""
        first = next((s for s in self.steps if s.corrections_before == 0 and s.right), None)
        return (first.decided_by or "").split("@")[0] if first else None

    @property
    def corrections_until_self(self) -> int | None:
        """Corrections made before the first letter that routed itself right (None: none did)."""
        first = next((s for s in self.steps if s.right), None)
        return first.corrections_before if first else None

    def after_first(self) -> dict[str, int]:
        """The letters after the first one that routed itself: right, review, wrong."""
        index = next((i for i, s in enumerate(self.steps) if s.right), None)
        rest = self.steps[index + 1 :] if index is not None else []
        return {
            "right": sum(s.right for s in rest),
            "review": sum(s.status != "routed" for s in rest),
            "wrong": sum(s.status == "routed" and not s.right for s in rest),
        }

    def letters_4_to_6(self) -> dict[str, int]:
        """The letters after the first three (the issue's measure: after 3 letters of a kind, with every miss
        among them corrected): routed right by themselves, and without any correction (the baseline)."""
        rest = self.steps[3:]
        return {
            "letters": len(rest),
            "right": sum(s.right for s in rest),
            "wrong": sum(s.status == "routed" and not s.right for s in rest),
            "right_without_corrections": sum(s.without_memory == self.postbox for s in rest),
            "wrong_without_corrections": sum(s.without_memory not in (None, "review", self.postbox) for s in rest),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "postbox": self.postbox,
            "letters": len(self.steps),
            "without_tasks": self.without,
            "known_by": self.known_by,
            "catalogue_tasks_hit": self.catalogue_tasks,
            "corrections_until_self": self.corrections_until_self,
            "after_first": self.after_first(),
            "letters_4_to_6": self.letters_4_to_6(),
            "sequence": "".join(s.mark for s in self.steps),
            "steps": [asdict(s) for s in self.steps],
        }


def kinds_of(folder: Path) -> dict[str, list[tuple[Path, str]]]:
    """Per kind, its letters (file, truth postbox) in file-name order."""
    out: dict[str, list[tuple[Path, str]]] = defaultdict(list)
    for path in expand_inputs([folder]):
        truth = _truth(path)
        if truth is None or not truth.get("postbox"):
            continue
        out[str(truth.get("kind") or truth.get("occasion") or "?")].append((path, str(truth["postbox"])))
    return dict(sorted(out.items()))


def _truth(path: Path) -> dict[str, Any] | None:
    """``FILE.truth.json`` (generated mail) or ``STEM.truth.json`` (independent letters) beside a letter."""
    truth = load_truth(path)
    independent = path.with_name(path.stem + ".truth.json")
    if truth is None and independent.exists():
        loaded = json.loads(independent.read_text(encoding="utf-8"))
        truth = loaded if isinstance(loaded, dict) else None
    return truth


def directory_without(tasks: list[str]) -> str:
    """The shipped directory's YAML with the catalogue tasks ``"department: task"`` removed."""
    raw = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    drop = {tuple(t.split(": ", 1)) for t in tasks}
    for department in raw.get("departments", []):
        if department.get("tasks"):
            department["tasks"] = [t for t in department["tasks"] if (department["id"], t["task"]) not in drop]
    return yaml.safe_dump(raw, allow_unicode=True, sort_keys=False)


def _without_memory(ctx: PipelineContext) -> Router:
    """The context's router (same directory, models, rules) without the corrections: the letter as it would go
    had nobody corrected anything."""
    router = ctx.router
    return Router(directory=router.directory, models=router.models, policy=router.policy,
                  fixed_rules=router.rules(None), learn_from_corrections=False)


def run_kind(
    kind: str,
    letters: list[tuple[Path, str]],
    models_dir: Path | None,
    workdir: Path,
    without: tuple[str, ...] | list[str] = (),
) -> KindRun:
    """Run one kind's letters in a fresh data directory, correcting every letter not routed to its truth."""
    settings = Settings(data_dir=workdir, models_dir=models_dir)
    if without:
        install_directory(settings, directory_without(list(without)).encode("utf-8"), ".yaml")
    ctx = PipelineContext.create(settings)
    run = KindRun(kind, letters[0][1], list(without))
    corrections = 0
    hit_tasks: set[str] = set()
    for path, postbox in letters:
        outcome = process_path(path, ctx, channel="eval")
        result = outcome.result
        if result is None:
            run.steps.append(LetterStep(path.name, corrections, "failed", None, None, False, False))
            continue
        baseline, remembered = None, ""
        if outcome.document is not None:
            box = ctx.router.directory.postboxes.get(postbox)
            recognition = recognise_document(outcome.document, ctx.router)
            hit_tasks |= {f"{e.department}: {h.task}" for e in recognition.catalogue
                          if box is not None and e.department == box.department for h in e.hits}
            plain = route_document(outcome.document, _without_memory(ctx), recognition=recognition).routing
            baseline = plain.postbox if plain.status == "routed" else "review"
            with session_scope(ctx.sessions) as session:
                said = ctx.router.memory(session).evidence(recognition.sample)
            remembered = ", ".join(f"{r.postbox} {r.votes:.2f}/{r.letters}/{r.best_similarity:.2f}"
                                   for r in sorted(said.values(), key=lambda r: -r.votes))
        routing = result.routing
        right = routing is not None and routing.status == "routed" and routing.postbox == postbox
        step = LetterStep(path.name, corrections, routing.status if routing else "failed",
                          routing.postbox if routing else None, routing.decided_by if routing else None, right, False,
                          baseline, remembered,
                          ((routing.review_reasons or routing.because or [""])[0] if routing else "")[:160])
        if not right:
            with session_scope(ctx.sessions) as session:
                row = repository.get_document(session, result.document_id)
                state = DocumentState(row.state) if row is not None else None
            if state in (DocumentState.REVIEW, DocumentState.ROUTED):
                apply_decision(ctx.sessions, result.document_id, expected=state, postbox=postbox,
                               decided_by=REVIEWER, who=REVIEWER, reason="bench: the truth postbox")
                corrections += 1
                step.corrected = True
        run.steps.append(step)
    run.catalogue_tasks = sorted(hit_tasks)
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="letters with truth files that name a kind and a postbox")
    parser.add_argument("--models-dir", type=Path, default=None,
                        help="default models (default: MAILROOM_MODELS_DIR, else trained in the work folder once)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--json-out", type=Path, default=None, help="also write the JSON report to this file")
    parser.add_argument("--no-removal", action="store_true", help="do not repeat known kinds without their tasks")
    args = parser.parse_args()
    models_dir = args.models_dir or (Path(os.environ["MAILROOM_MODELS_DIR"]) if os.environ.get("MAILROOM_MODELS_DIR")
                                     else None)
    runs: list[KindRun] = []
    with tempfile.TemporaryDirectory(prefix="bench-learning-") as tmp:
        shared_models = models_dir or Path(tmp) / "models"
        for number, (kind, letters) in enumerate(kinds_of(args.folder).items()):
            run = run_kind(kind, letters, shared_models, Path(tmp) / f"kind-{number}")
            runs.append(run)
            _print_run(run, args.json)
            if run.catalogue_tasks and not args.no_removal:  # the catalogue knows (some of) the kind's words
                again = run_kind(kind, letters, shared_models, Path(tmp) / f"kind-{number}-without",
                                 without=run.catalogue_tasks)
                runs.append(again)
                _print_run(again, args.json)
    report = json.dumps({"kinds": [r.to_dict() for r in runs]}, indent=1, ensure_ascii=False)
    if args.json_out:
        args.json_out.write_text(report, encoding="utf-8")
    if args.json:
        print(report)
    else:
        _print_summary(runs)
    return 0


def _print_run(run: KindRun, quiet: bool) -> None:
    if quiet:
        return
    without = f" without {', '.join(run.without)}" if run.without else ""
    print(f"{run.kind} → {run.postbox}{without}: {''.join(s.mark for s in run.steps)}", flush=True)
    for s in run.steps:
        print(f"   {s.mark} {s.file}: {s.status} {s.postbox or '-'} ({s.decided_by}) after {s.corrections_before} "
              f"correction(s); without any: {s.without_memory}; memory: {s.memory or '-'}; {s.reason}", flush=True)


def _print_summary(runs: list[KindRun]) -> None:
    print("\n| kind | postbox | known before? | catalogue tasks removed | sequence | corrections until the next "
          "routes itself | after it: right / review / wrong | letters 4-6 right (wrong) | without corrections |")
    print("|---|---|---|---|---|---:|---|---|---|")
    for r in runs:
        after, late = r.after_first(), r.letters_4_to_6()
        until = "never" if r.corrections_until_self is None else str(r.corrections_until_self)
        print(f"| {r.kind} | {r.postbox} | {r.known_by or 'no'} | {', '.join(r.without) or '-'} | "
              f"`{''.join(s.mark for s in r.steps)}` | {until} | {after['right']} / {after['review']} / "
              f"{after['wrong']} | {late['right']}/{late['letters']} ({late['wrong']}) | "
              f"{late['right_without_corrections']}/{late['letters']} ({late['wrong_without_corrections']}) |")


if __name__ == "__main__":
    raise SystemExit(main())
