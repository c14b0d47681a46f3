"""The routing-rule language: pydantic models of the YAML an admin writes (see ``docs/rules.md``).

A rule set is ``version`` plus ``rules``; a rule is ``id``, ``description``, ``priority``, ``when`` (a
condition tree), ``then`` (actions), ``stop`` and ``confidence``. A condition is a mapping with exactly one
*kind key* (``term``, ``phrase``, ``regex``, ``near`` ..., ``all``/``any``/``not``) plus that kind's modifiers
(``in``, ``fuzzy``, ``within_mm`` ...). There is one way to say each thing: alternatives are written with
``any``, never as lists inside a condition.

These models only describe *shape*; :mod:`rules.validate` turns YAML into them with error codes an admin can
act on, and :mod:`rules.compiled` prepares them for fast evaluation.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator
from pydantic_core import PydanticCustomError

from mailroom.result import InvoiceFieldName
from rules.regex_guard import check_regex

ZoneName = Literal[
    "address_field",
    "return_address",
    "info_block",
    "subject",
    "letterhead",
    "footer",
    "first_page",
    "any_page",
]

IntakeFactName = Literal["station", "channel", "page_count", "sender", "sender_domain"]
DocumentPriority = Literal["low", "normal", "high", "urgent"]
Similarity = Annotated[float, Field(ge=0.5, le=1.0)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Millimetres = Annotated[float, Field(gt=0, le=500)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Region(_Model):
    """A rectangle on one page in millimetres from the top-left corner of the sheet."""

    page: int = Field(1, ge=1)
    x_mm: tuple[float, float]
    y_mm: tuple[float, float]

    @model_validator(mode="after")
    def _ordered(self) -> Region:
        for name, (a, b) in (("x_mm", self.x_mm), ("y_mm", self.y_mm)):
            if not 0 <= a < b <= 500:
                raise PydanticCustomError(
                    "bad_region", "{name} must be [from, to] with 0 <= from < to <= 500 mm", {"name": name}
                )
        return self


Scope = ZoneName | Region


class _Located(_Model):
    """Modifiers shared by every condition that looks at words: where, and how tolerant of OCR errors."""

    in_: Scope = Field("any_page", alias="in")
    fuzzy: Similarity | None = None


def _words(value: str) -> list[str]:
    return value.split()


class Term(_Located):
    """One word, matched as a whole word (``Rechnung`` does not match ``Rechnungsnummer``)."""

    term: str

    @field_validator("term")
    @classmethod
    def _one_word(cls, value: str) -> str:
        if len(_words(value)) != 1:
            raise PydanticCustomError("term_not_one_word", "a term is one word; use `phrase` for several")
        return value


class Phrase(_Located):
    """Several words, consecutive in reading order."""

    phrase: str

    @field_validator("phrase")
    @classmethod
    def _several_words(cls, value: str) -> str:
        if len(_words(value)) < 2:
            raise PydanticCustomError(
                "phrase_too_short", "a phrase has at least two words; use `term` for one"
            )
        return value


class Regex(_Model):
    """A regular expression, searched case-insensitively in each text line of the scope."""

    regex: str
    in_: Scope = Field("any_page", alias="in")

    @field_validator("regex")
    @classmethod
    def _safe(cls, value: str) -> str:
        problem = check_regex(value)
        if problem is not None:
            raise PydanticCustomError(problem.code, problem.message)
        return value


def _operand(value: str) -> str:
    if not value.split():
        raise PydanticCustomError("empty_operand", "a spatial operand needs at least one word")
    return value


class _Relation(_Located):
    """Two words or phrases ``[A, B]`` in a spatial relation: "A <relation> B"."""

    within_mm: Millimetres | None = None

    @model_validator(mode="after")
    def _operands(self) -> _Relation:
        for operand in self.operands:
            _operand(operand)
        return self

    relation: ClassVar[str]

    @property
    def operands(self) -> tuple[str, str]:
        value: tuple[str, str] = getattr(self, self.relation)
        return value


class Near(_Relation):
    near: tuple[str, str]
    within_mm: Millimetres

    relation: ClassVar[str] = "near"


class LeftOf(_Relation):
    left_of: tuple[str, str]

    relation: ClassVar[str] = "left_of"


class RightOf(_Relation):
    right_of: tuple[str, str]

    relation: ClassVar[str] = "right_of"


class Above(_Relation):
    above: tuple[str, str]

    relation: ClassVar[str] = "above"


class Below(_Relation):
    below: tuple[str, str]

    relation: ClassVar[str] = "below"


class SameLine(_Relation):
    same_line: tuple[str, str]

    relation: ClassVar[str] = "same_line"


class Pattern(_Located):
    """Words or phrases in this order (reading order: left to right, then downwards) within the scope."""

    pattern: list[str] = Field(min_length=2, max_length=12)
    max_gap_mm: Millimetres | None = None

    @field_validator("pattern")
    @classmethod
    def _non_empty(cls, value: list[str]) -> list[str]:
        return [_operand(v) for v in value]


class DocumentTypeIs(_Model):
    document_type: str
    min_confidence: Probability = 0.0


class Department(_Model):
    """The recipient department recognised from the address field (organisation directory id)."""

    department: str
    min_confidence: Probability = 0.0


class Person(_Model):
    """The recipient person recognised from the address field (organisation directory id)."""

    person: str
    min_confidence: Probability = 0.0


class KnownSender(_Model):
    """Whether the sender was recognised as a known supplier (by IBAN or VAT id)."""

    known_sender: bool


class Sender(_Model):
    """The recognised supplier, by its master-data id."""

    sender: str


class LeitwegId(_Model):
    """The Leitweg-ID (routing id of German e-invoices, BT-10) against a pattern: ``*`` any characters."""

    leitweg_id: str


class InvoiceValidation(_Model):
    invoice_validation: str


class _Comparison(_Model):
    """Exactly one operator: exists, equals, one_of, gt, gte, lt, lte."""

    exists: bool | None = None
    equals: str | Decimal | None = None
    one_of: list[str | Decimal] | None = None
    gt: Decimal | None = None
    gte: Decimal | None = None
    lt: Decimal | None = None
    lte: Decimal | None = None

    @model_validator(mode="after")
    def _one_operator(self) -> _Comparison:
        given = [
            op
            for op in ("exists", "equals", "one_of", "gt", "gte", "lt", "lte")
            if getattr(self, op) is not None
        ]
        if len(given) != 1:
            raise PydanticCustomError(
                "bad_operator",
                "give exactly one operator of exists, equals, one_of, gt, gte, lt, lte (got {given})",
                {"given": ", ".join(given) or "none"},
            )
        return self

    @property
    def operator(self) -> tuple[str, Any]:
        for op in ("exists", "equals", "one_of", "gt", "gte", "lt", "lte"):
            value = getattr(self, op)
            if value is not None:
                return op, value
        raise AssertionError("validated: one operator")


class InvoiceFact(_Comparison):
    invoice: InvoiceFieldName


class IntakeFact(_Comparison):
    intake: IntakeFactName


class All(_Model):
    all: list[Condition] = Field(min_length=1)


class AnyOf(_Model):
    any: list[Condition] = Field(min_length=1)


class Not(_Model):
    not_: Condition = Field(alias="not")


CONDITION_KINDS: dict[str, type[_Model]] = {
    "all": All,
    "any": AnyOf,
    "not": Not,
    "term": Term,
    "phrase": Phrase,
    "regex": Regex,
    "near": Near,
    "left_of": LeftOf,
    "right_of": RightOf,
    "above": Above,
    "below": Below,
    "same_line": SameLine,
    "pattern": Pattern,
    "document_type": DocumentTypeIs,
    "department": Department,
    "person": Person,
    "known_sender": KnownSender,
    "sender": Sender,
    "leitweg_id": LeitwegId,
    "invoice": InvoiceFact,
    "invoice_validation": InvoiceValidation,
    "intake": IntakeFact,
}


def condition_kind(value: Any) -> str | None:
    """The kind key of a raw or parsed condition; ``None`` when there is none or more than one."""
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True)
    if not isinstance(value, dict):
        return None
    kinds = [key for key in value if key in CONDITION_KINDS]
    return kinds[0] if len(kinds) == 1 else None


Condition = Annotated[
    Annotated[All, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[Not, Tag("not")]
    | Annotated[Term, Tag("term")]
    | Annotated[Phrase, Tag("phrase")]
    | Annotated[Regex, Tag("regex")]
    | Annotated[Near, Tag("near")]
    | Annotated[LeftOf, Tag("left_of")]
    | Annotated[RightOf, Tag("right_of")]
    | Annotated[Above, Tag("above")]
    | Annotated[Below, Tag("below")]
    | Annotated[SameLine, Tag("same_line")]
    | Annotated[Pattern, Tag("pattern")]
    | Annotated[DocumentTypeIs, Tag("document_type")]
    | Annotated[Department, Tag("department")]
    | Annotated[Person, Tag("person")]
    | Annotated[KnownSender, Tag("known_sender")]
    | Annotated[Sender, Tag("sender")]
    | Annotated[LeitwegId, Tag("leitweg_id")]
    | Annotated[InvoiceFact, Tag("invoice")]
    | Annotated[InvoiceValidation, Tag("invoice_validation")]
    | Annotated[IntakeFact, Tag("intake")],
    Discriminator(condition_kind),
]


class Actions(_Model):
    """What a matching rule does. Document ``priority`` is a word; the *rule* priority is a number."""

    route_to: str | None = None
    copy_to: list[str] = Field(default_factory=list)
    set_type: str | None = None
    tags: list[str] = Field(default_factory=list)
    priority: DocumentPriority | None = None
    deadline_days: int | None = Field(None, ge=0, le=3650)
    confidential: bool = False
    review: str | None = Field(None, min_length=1, description="Send to the review queue with this reason")

    @model_validator(mode="after")
    def _something(self) -> Actions:
        if not (
            self.route_to
            or self.copy_to
            or self.set_type
            or self.tags
            or self.priority
            or self.deadline_days is not None
            or self.confidential
            or self.review
        ):
            raise PydanticCustomError("no_action", "`then` needs at least one action")
        return self


class Rule(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,79}$")
    description: str = ""
    priority: int = Field(0, ge=-1000, le=1000, description="Higher first; equal priorities in file order")
    when: Condition | None = Field(None, description="Absent: the rule matches every document (a catch-all)")
    then: Actions
    stop: bool = False
    confidence: Probability


class PackHeader(_Model):
    """The header of a shared rule pack: which pack, for which town, which version, which schema
    (``mailroom.rules/v1``; changed only for incompatible changes of the language)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,79}$")
    town: str = ""
    version: int = Field(ge=1, description="The pack's own version where it was exported")
    schema_: Literal["mailroom.rules/v1"] = Field("mailroom.rules/v1", alias="schema")
    exported_by: str | None = Field(None, description="mailroom version that wrote the pack")


class RuleSet(_Model):
    pack: PackHeader | None = Field(None, description="Present in rule packs (export / import)")
    version: int = Field(ge=1)
    description: str = ""
    rules: list[Rule] = Field(default_factory=list, max_length=5000)
