"""The recognise → rules → decide stage for one read document, with what it needs loaded once per process.

The :class:`Router` holds the organisation directory, the recognition models (trained on first use when the
data directory has none), the routing policy (type routes and thresholds) and the rules: either a fixed rule
file (evaluation) or the active version from the database, re-read when an admin activates another version
(hot activation, see ``rules.store.ActiveRuleSetCache``).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from classifiers.responsibilities import PostboxEvidence, catalogue_for
from classifiers.samples import Sample
from mailroom.directory import Directory, default_directory, installed_directory_file, load_directory
from mailroom.errors import InvalidDirectory
from mailroom.model import Document
from mailroom.settings import Settings
from routing.decision import (
    MEMORY_STRENGTH,
    RoutingDecision,
    RoutingPolicy,
    Thresholds,
    decide,
    load_thresholds,
)
from routing.memory import CorrectionMemory, label_version, memory_factors
from routing.recognition import Recognition, RoutingModels, facts_for_rules, load_type_routes, recognise
from routing.training import ensure_default_models, registries
from rules import CompiledRuleSet, compile_ruleset, evaluate, load_ruleset
from rules.decision import Decision
from rules.facts import IntakeFacts, InvoiceFacts, SupplierFacts
from rules.simulate import Outcome, StoredDocument
from rules.store import ActiveRuleSetCache, default_pack_text

OVERRULED_FACTOR = 0.5  # a catalogue word's weight per corrected similar letter that overruled it


@dataclass
class Router:
    """Everything the decision needs: directory, models, policy, and the rules (fixed or the active version)."""

    directory: Directory
    models: RoutingModels
    policy: RoutingPolicy
    fixed_rules: CompiledRuleSet | None = None
    active_rules: ActiveRuleSetCache = field(default_factory=ActiveRuleSetCache)
    learned: CorrectionMemory = field(default_factory=CorrectionMemory)
    learn_from_corrections: bool = True

    @classmethod
    def create(
        cls, settings: Settings, *, rules_file: Path | None = None, thresholds_file: Path | None = None
    ) -> Router:
        thresholds = load_thresholds(thresholds_file) if thresholds_file else Thresholds()
        installed = installed_directory_file(settings)
        routes = load_type_routes(installed) if installed and installed.suffix == ".yaml" else {}
        fixed = compile_ruleset(load_ruleset(rules_file.read_text(encoding="utf-8"))) if rules_file else None
        return cls(
            directory=load_directory(installed) if installed else default_directory(),
            models=ensure_default_models(settings),
            policy=RoutingPolicy(routes=routes or load_type_routes(), thresholds=thresholds),
            fixed_rules=fixed,
        )

    def rules(self, session: Session | None) -> CompiledRuleSet:
        """The fixed rules, else the active version in the database, else (no session) the shipped pack."""
        if self.fixed_rules is not None:
            return self.fixed_rules
        if session is None:
            self.fixed_rules = compile_ruleset(load_ruleset(default_pack_text()))
            return self.fixed_rules
        return self.active_rules.get(session)

    def memory(self, session: Session | None) -> CorrectionMemory:
        """Reviewers' corrections as a memory of letters, rebuilt when a new re-route was recorded."""
        if session is None or not self.learn_from_corrections:
            return self.learned
        version = label_version(session)
        if version != self.learned.version:
            self.learned = CorrectionMemory.load(session, overruled_by=self.overruled_words)
        return self.learned

    def overruled_words(self, sample: Sample, postbox: str) -> frozenset[tuple[str, str]]:
        """The catalogue words (department, word) of a letter corrected to ``postbox`` that spoke for other
        departments: the correction overruled them."""
        box = self.directory.postboxes.get(postbox)
        department = box.department if box is not None else None
        evidence = catalogue_for(self.directory).content_evidence(sample.text, sample.subject, sample.address)
        return frozenset((e.department, h.word) for e in evidence if e.department != department for h in e.hits)


def router_inputs(settings: Settings) -> tuple[object, ...]:
    """What a :class:`Router` is built from, cheaply comparable: the installed directory file (path, mtime, size)
    and the current model versions. A change means the router must be built again."""
    directory = installed_directory_file(settings)
    stat = directory.stat() if directory else None
    types, postboxes = registries(settings)
    return (
        str(directory) if directory else None,
        stat.st_mtime_ns if stat else None,
        stat.st_size if stat else None,
        types.current_version(),
        postboxes.current_version(),
    )


def recognise_document(document: Document, router: Router, *, e_invoice: bool = False) -> Recognition:
    """Zones, recipient, document type and postbox suggestion of a read document (the models' part)."""
    return recognise(document, directory=router.directory, models=router.models, e_invoice=e_invoice)


def route_document(
    document: Document,
    router: Router,
    *,
    session: Session | None = None,
    e_invoice: bool = False,
    invoice: InvoiceFacts | None = None,
    supplier: SupplierFacts | None = None,
    intake: IntakeFacts | None = None,
    leitweg_id: str | None = None,
    recognition: Recognition | None = None,
) -> RoutingDecision:
    """Recognise a read document (unless its ``recognition`` is given), evaluate the rules on it and decide where
    it goes. The pipeline passes the recognition when it decides twice (again with an invoice's fields)."""
    if recognition is None:
        recognition = recognise_document(document, router, e_invoice=e_invoice)
    facts = facts_for_rules(recognition, invoice=invoice, supplier=supplier, intake=intake, leitweg_id=leitweg_id)
    rules_decision = evaluate(router.rules(session), document, facts)
    memory = router.memory(session)
    learned = memory_factors(memory.evidence(recognition.sample), MEMORY_STRENGTH)
    recognition = weaken_overruled(recognition, memory, learned, router.directory)
    return decide(recognition, rules_decision, directory=router.directory, policy=router.policy, learned=learned)


def weaken_overruled(
    recognition: Recognition, memory: CorrectionMemory, learned: dict[str, tuple[float, str]], directory: Directory
) -> Recognition:
    """When corrections speak for a postbox, the catalogue words those corrections overruled (they spoke for
    another department in the corrected letters) weigh :data:`OVERRULED_FACTOR` less per overruling letter."""
    overruled: dict[tuple[str, str], int] = {}
    for postbox in learned:
        for key, count in memory.overruled_words(postbox).items():
            overruled[key] = max(overruled.get(key, 0), count)
    if not overruled or not recognition.catalogue:
        return recognition
    weakened = []
    for evidence in recognition.catalogue:
        hits = [replace(h, weight=h.weight * OVERRULED_FACTOR ** overruled.get((evidence.department, h.word), 0))
                for h in evidence.hits]
        before = sum(h.weight for h in evidence.hits)
        scale = sum(h.weight for h in hits) / before if before else 1.0
        weakened.append(PostboxEvidence(evidence.postbox, evidence.department, evidence.score * scale, hits))
    return replace(recognition, catalogue=tuple(weakened))


def hybrid_outcome(router: Router) -> Callable[[StoredDocument, Decision], Outcome]:
    """For rule simulation: the whole decision on a stored document (its words and stored facts), as the pipeline
    makes it — rules first, then the recipient and the models behind their thresholds."""

    def finalise(stored: StoredDocument, rules_decision: Decision) -> Outcome:
        recognition = recognise_document(stored.document, router, e_invoice=not stored.document.pages)
        decision = decide(recognition, rules_decision, directory=router.directory, policy=router.policy)
        routing = decision.routing
        return Outcome(routing.status, routing.postbox, decision.document_type.label, routing.decided_by)

    return finalise


def install_directory(settings: Settings, body: bytes, suffix: str) -> Directory:
    """Validate ``body`` and install it atomically as ``<data_dir>/directory<suffix>``; the other format goes.

    The new file replaces the old one with one rename; the file of the other format is removed only after that
    (a reader in between sees the old directory or the new one, never none: YAML wins over CSV).
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=settings.data_dir, prefix=".directory-upload-", suffix=suffix)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        try:
            directory = load_directory(tmp)
            if suffix == ".yaml":
                load_type_routes(tmp)  # the router reads the document-type routes of an installed YAML too
        except InvalidDirectory as exc:
            problems = exc.details.get("problems") or [exc.message]
            raise InvalidDirectory(exc.message.replace(tmp.stem, "directory"), field=exc.field,
                                   problems=problems) from exc
        target = settings.data_dir / f"directory{suffix}"
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    other = settings.data_dir / ("directory.yaml" if suffix == ".csv" else "directory.csv")
    other.unlink(missing_ok=True)
    _keep_version(settings, body, suffix)
    return directory


@dataclass(frozen=True)
class DirectoryVersion:
    """One installed version of the organisation directory (``<data_dir>/directory-versions/NNNN.yaml|csv``)."""

    number: int
    path: Path
    sha256: str
    installed_at: str


def _versions_folder(settings: Settings) -> Path:
    return settings.data_dir / "directory-versions"


def _keep_version(settings: Settings, body: bytes, suffix: str) -> None:
    folder = _versions_folder(settings)
    folder.mkdir(parents=True, exist_ok=True)
    number = max((v.number for v in directory_versions(settings)), default=0) + 1
    (folder / f"{number:04d}{suffix}").write_bytes(body)


def directory_versions(settings: Settings) -> list[DirectoryVersion]:
    """Every installed directory version, oldest first (each install keeps a copy; rollback installs one again)."""
    folder = _versions_folder(settings)
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.iterdir()):
        if path.stem.isdigit() and path.suffix in (".yaml", ".csv"):
            stat = path.stat()
            out.append(DirectoryVersion(
                int(path.stem), path, hashlib.sha256(path.read_bytes()).hexdigest(),
                datetime.fromtimestamp(stat.st_mtime, UTC).isoformat(timespec="seconds"),
            ))
    return sorted(out, key=lambda v: v.number)


def reinstall_directory_version(settings: Settings, number: int) -> Directory:
    """Install version ``number`` again (it becomes the newest version)."""
    found = next((v for v in directory_versions(settings) if v.number == number), None)
    if found is None:
        raise InvalidDirectory(f"no directory version {number}", field="version")
    return install_directory(settings, found.path.read_bytes(), found.path.suffix)
