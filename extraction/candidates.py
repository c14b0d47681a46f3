"""Candidate values for invoice fields, found by label anchors and by patterns that check themselves.

A *candidate* is one reading of one field at one place: the value right of a label on its row, or in the rows
under it, or an IBAN / VAT id / Leitweg-ID found anywhere (their check digits vouch for them). Each carries a
score in 0..1 from how well the label matched, where the value sat and how sure OCR was of its words; the
choice among candidates is :mod:`extraction.choose`'s. Printed values that look like a field but fail its check
digits are kept as *rejected* readings, so that validation can say "the IBAN printed here is wrong".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from decimal import Decimal

from extraction import parsers
from extraction.labels import FIELD_KINDS, LABELS, PAYMENT_TERM_ANCHORS, Kind, language_tables
from extraction.layout import LabelHit, Row, Token, find_labels, tokens_below, tokens_beside
from extraction.leitweg import validate_leitweg_id
from mailroom.model import Box, Document, TextSource, union_box

#: How much a value's position next to its label counts: same row, first row below, second row below.
POSITION_WEIGHT = (1.0, 0.85, 0.7)
#: Labels that are single common words get less trust than specific ones.
GENERIC_LABELS = frozenset(
    {"datum", "date", "total", "netto", "brutto", "ust", "vat", "mwst", "tva", "facture", "avoir", "totaal", "totale",
     "btw", "iva", "fecha", "data", "net", "tax", "due", "nif", "cif", "imposta", "subtotal", "zwischensumme"}
)
GENERIC_WEIGHT = 0.85
#: Score of a value found by its pattern alone (IBAN, VAT id, Leitweg-ID with valid check digits).
PATTERN_SCORE = 0.8
#: How many tokens after a label may precede its value ("zzgl. USt 19 % 605,24 €": two).
MAX_SKIP = 4
_LEITWEG_SHAPE = re.compile(r"\b\d{2,12}(?:-[0-9A-Za-z]{1,30})?-\d{2}\b")


@dataclass(frozen=True)
class Candidate:
    """One reading of a field. ``value`` is normalised (ISO date, two-decimal amount, compact IBAN)."""

    field: str
    value: str
    score: float
    page: int
    box: Box
    source: str
    evidence: str
    row: int = -1
    #: how sure the reading of the value's own words was: the lowest word confidence (0..1; a text layer's 1.0)
    reading: float = 1.0
    #: read beside or right under a label that matched exactly (no OCR error in the label, no guess)
    clear_label: bool = False

    @property
    def checked(self) -> bool:
        """Whether the value passes its check digits (values without check digits pass)."""
        kind = FIELD_KINDS.get(self.field)
        if kind is Kind.IBAN:
            return parsers.valid_iban(self.value)
        if kind is Kind.VAT_ID:
            return parsers.valid_vat_id(self.value)
        if kind is Kind.LEITWEG:
            return validate_leitweg_id(self.value).ok
        return True


def text_source_of(document: Document) -> dict[int, str]:
    """Page number → the ``source`` its fields get: ``ocr`` or ``text_layer``."""
    return {
        page.number: "text_layer" if page.text_source is TextSource.TEXT_LAYER else "ocr" for page in document.pages
    }


def _joined(tokens: tuple[Token, ...]) -> tuple[str, list[int]]:
    starts: list[int] = []
    position = 0
    for token in tokens:
        starts.append(position)
        position += len(token.text) + 1
    return " ".join(t.text for t in tokens), starts


def _covering(tokens: tuple[Token, ...], starts: list[int], start: int, end: int) -> tuple[Token, ...]:
    return tuple(t for t, s in zip(tokens, starts, strict=True) if s < end and s + len(t.text) > start)


def _ocr_factor(tokens: Iterable[Token]) -> float:
    return min((min(t.confidence, 100.0) / 100 for t in tokens), default=0.0)


#: Kinds whose check digits (ISO 7064 mod 97-10 over 20 and more characters) let a misread pass about once in
#: a hundred: a reading that passes them is vouched for, whatever Tesseract's word confidence said. Tesseract
#: gave 'DE36' of the committed scan 0006 a confidence of 26 on one machine and above 90 on another (the word
#: confidences move with the library versions), and a right IBAN went to review. VAT ids (mod 11, one in
#: eleven misreads pass) keep their OCR factor.
_VOUCHED_KINDS = frozenset({Kind.IBAN, Kind.LEITWEG})


def _reading_factor(kind: Kind, value: str, tokens: Iterable[Token]) -> float:
    """How far OCR's word confidence lowers a reading: not at all when strong check digits pass."""
    if kind in _VOUCHED_KINDS and _passes(kind, value):
        return 1.0
    return _ocr_factor(tokens)


def _passes(kind: Kind, value: str) -> bool:
    if kind is Kind.IBAN:
        return parsers.valid_iban(value)
    return validate_leitweg_id(value).ok if kind is Kind.LEITWEG else False


Finder = Callable[[str], list[tuple[str, int, int]]]


def _dates(text: str) -> list[tuple[str, int, int]]:
    return [(d.isoformat(), s, e) for d, s, e in parsers.find_dates(text)]


def _amounts(text: str) -> list[tuple[str, int, int]]:
    return [(parsers.amount_text(a), s, e) for a, s, e in parsers.find_amounts(text)]


def _first_token(parse: Callable[[str], str | None]) -> Finder:
    def find(text: str) -> list[tuple[str, int, int]]:
        position = 0
        for word in text.split(" "):
            if len(word) > 1 and any(c.isalnum() for c in word):
                value = parse(word)
                return [(value, position, position + len(word))] if value else []
            position += len(word) + 1
        return []

    return find


#: A lone word joining the two parts of a number written with spaces ("018304 / 28865").
_NUMBER_JOINERS = frozenset({"/", "-", "–"})


#: Words that name a number rather than start it ("NR 4711").
_NOT_PREFIXES = frozenset({"N", "NR", "NO", "NUM", "ID", "EUR", "USD", "CHF", "GBP"})
_PREFIX = re.compile(r"[A-Z]{1,4}")


def _identifier(text: str) -> list[tuple[str, int, int]]:
    """The first word as an identifier (:func:`parsers.parse_identifier`). Letters written apart from the number
    ("RE 2026-0042", "R 4711") are its prefix when the number starts with a digit; a second part joined by a lone
    slash or dash ("018304 / 28865") is its suffix when that part is digits."""
    words = text.split(" ")
    lead = next((i for i, w in enumerate(words) if w), None)
    if (lead is not None and lead + 1 < len(words) and _PREFIX.fullmatch(words[lead])
            and words[lead] not in _NOT_PREFIXES and words[lead + 1][:1].isdigit()):
        number = parsers.parse_identifier(words[lead + 1])
        if number is not None:
            start = sum(len(w) + 1 for w in words[:lead])
            value, end = f"{words[lead]} {number}", start + len(words[lead]) + 1 + len(number)
            return _with_suffix(text, value, start, end)
    found = _first_token(parsers.parse_identifier)(text)
    if not found:
        return found
    return _with_suffix(text, *found[0])


def _with_suffix(text: str, value: str, start: int, end: int) -> list[tuple[str, int, int]]:
    rest = text[end:].split(" ")
    if len(rest) >= 3 and rest[0] == "" and rest[1] in _NUMBER_JOINERS and rest[2].rstrip(".,;:").isdigit():
        suffix = rest[2].rstrip(".,;:")
        joined = f"{value} {rest[1]} {suffix}"
        return [(joined, start, end + 2 + len(rest[1]) + len(suffix))]
    return [(value, start, end)]


_LOOKALIKE_SWAPS = {"O": "0", "0": "O", "I": "1", "1": "I"}


def _repaired_leitweg(value: str) -> str:
    """A Leitweg-ID whose check digits fail, with one O/0 or I/1 swapped where that makes them right (its
    Feinadressierung may hold letters and digits, so OCR confuses them); else as read."""
    if validate_leitweg_id(value).ok:
        return value
    fixes = {
        value[:i] + _LOOKALIKE_SWAPS[c] + value[i + 1 :]
        for i, c in enumerate(value[:-3]) if c in _LOOKALIKE_SWAPS
    }
    valid = [v for v in fixes if validate_leitweg_id(v).ok]
    return valid[0] if len(valid) == 1 else value


def _leitweg(text: str) -> list[tuple[str, int, int]]:
    match = _LEITWEG_SHAPE.search(text)
    return [(_repaired_leitweg(match.group(0).upper()), match.start(), match.end())] if match else []


_FINDERS: dict[Kind, Finder] = {
    Kind.IDENTIFIER: _identifier,
    Kind.DATE: _dates,
    Kind.AMOUNT: _amounts,
    Kind.IBAN: parsers.find_ibans,
    Kind.BIC: _first_token(parsers.parse_bic),
    Kind.VAT_ID: parsers.find_vat_ids,
    Kind.TAX_NUMBER: parsers.find_tax_numbers,
    Kind.LEITWEG: _leitweg,
}


def _value_in(tokens: tuple[Token, ...], kind: Kind) -> tuple[str, tuple[Token, ...]] | None:
    """The first value of ``kind`` in ``tokens``, at most :data:`MAX_SKIP` tokens in."""
    if not tokens:
        return None
    text, starts = _joined(tokens)
    found = _FINDERS[kind](text)
    if not found:
        return None
    value, start, end = found[0]
    covered = _covering(tokens, starts, start, end)
    if not covered or tokens.index(covered[0]) > MAX_SKIP:
        return None
    return value, covered


def _limit(after: tuple[Token, ...], hit: LabelHit, row_hits: list[LabelHit]) -> tuple[Token, ...]:
    """The tokens after a label up to the next label on the same row."""
    nxt = [h.start for h in row_hits if h.start >= hit.end]
    return after[: min(nxt) - hit.end] if nxt else after


def _label_weight(hit: LabelHit) -> float:
    weight = hit.similarity
    return weight * GENERIC_WEIGHT if hit.label.key in GENERIC_LABELS else weight


def labelled_candidates(rows: list[Row], sources: dict[int, str]) -> tuple[list[Candidate], list[LabelHit]]:
    """Candidates for every labelled field: the value right of each label, else in the rows below it."""
    hits = [hit for hit in find_labels(rows, LABELS) if not _in_running_text(hit)]
    by_row: dict[tuple[int, int], list[LabelHit]] = {}
    for hit in hits:
        by_row.setdefault((hit.row.page, hit.row.index), []).append(hit)
    labelled: dict[Token, str] = {t: h.label.field for h in hits for t in h.row.tokens[h.start : h.end]}
    out: list[Candidate] = []
    for hit in hits:
        for field in _FIELDS_OF_LABEL.get(hit.label.key, (hit.label.field,)):
            out.extend(_hit_candidates(rows, hit, field, by_row[(hit.row.page, hit.row.index)], sources,
                                       labelled))
    return out, hits


#: Fields by label text (folded): a text several fields share ("TVA": the VAT id's label and the VAT amount's)
#: is read for each of them, and the value's kind decides ("TVA 19 % 2 382,00" is an amount, "TVA FR…" an id).
_FIELDS_OF_LABEL: dict[str, tuple[str, ...]] = {}
for _label in LABELS:
    if _label.field not in _FIELDS_OF_LABEL.get(_label.key, ()):
        _FIELDS_OF_LABEL[_label.key] = (*_FIELDS_OF_LABEL.get(_label.key, ()), _label.field)


def _hit_candidates(
    rows: list[Row], hit: LabelHit, field: str, row_hits: list[LabelHit], sources: dict[int, str],
    labelled: dict[Token, str] | None = None,
) -> list[Candidate]:
    """The candidates of ``field`` at one label: right of it, beside it, below it, or in its table column. A
    value below the label that stands after another field's label ("Invoice date <unreadable>" over "Due date
    25 May 2018") is that label's, and ends the search."""
    kind = FIELD_KINDS.get(field)
    if kind is None:
        return []
    if kind is Kind.PERIOD:
        return _period(hit, sources)
    same_row = _limit(hit.after, hit, row_hits)
    glued = _glued_value(hit)
    if glued is not None:
        same_row = (glued, *same_row)
    if kind is Kind.AMOUNT and not same_row and _is_table_header(row_hits):
        column = _column_candidates(rows, hit, sources, field)
        if column:
            return column
    runs = [same_row or tokens_beside(rows, hit), *tokens_below(rows, hit)]
    for position, run in enumerate(runs):
        found = _value_in(run, kind)
        if found is None:
            continue
        value, tokens = found
        if position > 0 and labelled and any(
                labelled.get(t, field) != field for t in run[: run.index(tokens[0])]):
            break
        score = _label_weight(hit) * POSITION_WEIGHT[min(position, 2)] * _reading_factor(kind, value, tokens)
        out = [_candidate(field, kind, value, score, tokens, sources, hit.label.text, hit.row,
                          clear_label=hit.similarity >= 1.0 and position <= 1)]
        if kind is Kind.AMOUNT and position == 0:
            out.extend(_further_amounts(hit, run, tokens, score, sources, field))
        return out
    return []


def _glued_value(hit: LabelHit) -> Token | None:
    """A value written onto its label's last word after a colon ("Tax No.:201/113/40209"), as a word of its own
    (the label's box); None when the label ends with its word."""
    last = hit.row.tokens[hit.end - 1]
    _, colon, rest = last.text.partition(":")
    rest = rest.strip()
    if not colon or not any(c.isdigit() for c in rest):
        return None
    return Token(rest, last.box, last.confidence, last.page)


def _in_running_text(hit: LabelHit) -> bool:
    """A label's words inside a sentence name no value: "We invoice you as follows:", "bitte geben Sie die
    Rechnungsnummer an". A word ends right before it, and the word after it is a lower-case word. A period's label
    is the exception: "für den Leistungszeitraum vom 01.06. bis 30.06." names one."""
    before, after = hit.row.tokens[: hit.start], hit.after
    if not before or not after or FIELD_KINDS.get(hit.label.field) is Kind.PERIOD:
        return False
    following = after[0].text
    return before[-1].text[-1:].isalpha() and following[:1].islower() and following.isalpha()


#: A header row with at least this many amount labels is the head of a table of totals ("Nettobetrag
#: MwSt-Betrag Endbetrag" over one row per VAT rate and a last row with the sums).
TABLE_HEADER_LABELS = 2
#: Rows of such a table read at most; an earlier row than the last is a part, not the total.
MAX_TABLE_ROWS = 8
PART_ROW_WEIGHT = 0.5


def _is_table_header(row_hits: list[LabelHit]) -> bool:
    amounts = {h.label.field for h in row_hits if FIELD_KINDS.get(h.label.field) is Kind.AMOUNT}
    return len(amounts) >= TABLE_HEADER_LABELS and all(not h.after or h is row_hits[-1] or
                                                       _value_in(_limit(h.after, h, row_hits), Kind.AMOUNT) is None
                                                       for h in row_hits)


def _column_candidates(rows: list[Row], hit: LabelHit, sources: dict[int, str], field: str) -> list[Candidate]:
    """The amounts printed in the label's column, row after row below it: the last one is the total (scored as
    a value beside its label) when it is the sum of the ones above it, the parts (per VAT rate), which score
    less; when it is not their sum (the sum row was not read), every row is a part.

    An amount belongs to the column when its box overlaps the label's horizontally (amounts are right-aligned
    under their header, so a little beyond the label's right edge counts too). The column ends at the first row
    without an amount in it.
    """
    x0, _, x1, _ = hit.box
    slack = (x1 - x0) // 2
    found: list[tuple[str, tuple[Token, ...], Row]] = []
    following = [r for r in rows if r.page == hit.row.page and r.index > hit.row.index][:MAX_TABLE_ROWS]
    for row in following:
        cell = tuple(t for t in row.tokens if t.box[2] > x0 and t.box[0] < x1 + slack)
        read = _value_in(cell, Kind.AMOUNT) if cell else None
        if read is None:
            if len(row.tokens) <= 2 and not any(c.isdigit() for t in row.tokens for c in t.text):
                continue  # a speck read as a word between two rows of the table
            break
        found.append((read[0], read[1], row))
    if len(found) < 2:
        return []
    weight = _label_weight(hit)
    *parts, last = found
    sums_up = sum(Decimal(v) for v, _, _ in parts) == Decimal(last[0])  # else the sum row was not read
    out = []
    for n, (value, tokens, row) in enumerate(found):
        total = sums_up and n == len(found) - 1
        score = weight * _ocr_factor(tokens) * (1.0 if total else PART_ROW_WEIGHT)
        out.append(_candidate(field, Kind.AMOUNT, value, score, tokens, sources, hit.label.text, row))
    return out


#: Each further amount on a label's row is a weaker reading ("Steuerbasisbetrag USt. 7 % 275,00 19,25": the
#: tax is the second amount); the choice of a consistent set of totals picks among them.
FURTHER_AMOUNT_WEIGHT = 0.9


def _further_amounts(
    hit: LabelHit, run: tuple[Token, ...], first: tuple[Token, ...], score: float, sources: dict[int, str],
    field: str,
) -> list[Candidate]:
    rest = run[run.index(first[-1]) + 1 :]
    text, starts = _joined(rest)
    out = []
    for n, (value, start, end) in enumerate(_amounts(text), start=1):
        tokens = _covering(rest, starts, start, end)
        out.append(_candidate(field, Kind.AMOUNT, value, score * FURTHER_AMOUNT_WEIGHT**n, tokens, sources,
                              hit.label.text, hit.row))
    return out


def _candidate(
    field: str, kind: Kind, value: str, score: float, tokens: tuple[Token, ...], sources: dict[int, str],
    evidence: str, row: Row, *, clear_label: bool = False,
) -> Candidate:
    return Candidate(
        field=field, value=value, score=round(score, 4), page=tokens[0].page, box=union_box([t.box for t in tokens]),
        source=sources.get(tokens[0].page, "ocr"), evidence=evidence, row=row.index, reading=_ocr_factor(tokens),
        clear_label=clear_label,
    )


def _period(hit: LabelHit, sources: dict[int, str]) -> list[Candidate]:
    """Start and end of a service period: the first two dates right of the label."""
    text, starts = _joined(hit.after)
    dates = parsers.find_dates(text)[:2]
    if len(dates) < 2 or dates[0][0] > dates[1][0]:
        return []
    out = []
    for field, (value, start, end) in zip(("service_period_start", "service_period_end"), dates, strict=True):
        tokens = _covering(hit.after, starts, start, end)
        score = _label_weight(hit) * _ocr_factor(tokens)
        out.append(_candidate(field, Kind.DATE, value.isoformat(), score, tokens, sources, hit.label.text, hit.row))
    return out


#: The title line of many invoices: "Rechnung Nr. 471102 vom 05.03.2018", "Handelsrechnung (380) Nr. 4711"; not
#: "Rechnung gemäß Bestellung Nr. 2018-471331 vom 01.03.2018" (that number and date are the order's).
_TITLE = re.compile(
    r"(?i)\b(?:\w*rechnung\w*|gutschrift|invoice|credit note)\b"
    r"(?:(?!bestell|auftrag|liefer|vertrag|angebot|order|kunde|customer)[^:]){0,30}?"
    r"(?:\b(?:nr|no|nummer|number)\b\.?|#):?\s*"
    r"(?P<number>[A-Za-z0-9][A-Za-z0-9/\-_.]*[A-Za-z0-9])"
)
#: A title without "Nr." but with its date: "Rechnung 471102 vom 13.11.2019 (Fortsetzung)" heading page 2.
_DATED_TITLE = re.compile(
    r"(?i)\b(?:rechnung|gutschrift|invoice|credit note|facture|avoir|factuur|creditnota)\s+"
    r"(?P<number>[A-Za-z0-9/\-_.]*\d[A-Za-z0-9/\-_.]*)\s+(?:vom|von|from|dated|du|van)\b"
)
TITLE_SCORE = 0.8


def title_candidates(rows: list[Row], sources: dict[int, str]) -> list[Candidate]:
    """Invoice number and date from a title line such as "Rechnung Nr. 471102 vom 05.03.2018" (the date may
    wrap to the next line)."""
    out: list[Candidate] = []
    for position, row in enumerate(rows):
        text, starts = _joined(row.tokens)
        match = _TITLE.search(text) or _DATED_TITLE.search(text)
        if match is None or parsers.parse_identifier(match["number"]) is None:
            continue
        tokens = _covering(row.tokens, starts, *match.span("number"))
        out.append(_candidate("invoice_number", Kind.IDENTIFIER, match["number"], TITLE_SCORE * _ocr_factor(tokens),
                              tokens, sources, "title", row, clear_label=True))
        date_tokens = row.tokens[row.tokens.index(tokens[-1]) + 1 :]
        if len(date_tokens) == 1 and position + 1 < len(rows) and date_tokens[0].key in {"vom", "von", "from"}:
            date_tokens += rows[position + 1].tokens[:3]
        found = _value_in(date_tokens[1:], Kind.DATE) if date_tokens else None
        if found and date_tokens[0].key in {"vom", "von", "from", "dated", "du", "van"}:
            out.append(_candidate("issue_date", Kind.DATE, found[0], TITLE_SCORE * _ocr_factor(found[1]), found[1],
                                  sources, "title", row, clear_label=True))
    return out


#: Score of the date of a letter without a label (top right of the first page, "Ort, den ...").
LETTER_DATE_SCORE = 0.6


def letter_date_candidates(rows: list[Row], sources: dict[int, str], page_width: int, page_height: int,
                           ) -> list[Candidate]:
    """The date of the letter: a date ending a row in the upper part of the first page, in its right half."""
    out: list[Candidate] = []
    for row in rows:
        if row.page != 1 or row.box[1] > page_height * 0.45:
            continue
        right = tuple(t for t in row.tokens if t.box[0] >= page_width * 0.5)
        found = _value_in(right[-4:], Kind.DATE)
        if found is None or found[1][-1] is not row.tokens[-1]:
            continue
        out.append(_candidate("issue_date", Kind.DATE, found[0], LETTER_DATE_SCORE * _ocr_factor(found[1]), found[1],
                              sources, "letter date", row))
    return out[:1]


def pattern_candidates(rows: list[Row], sources: dict[int, str]) -> list[Candidate]:
    """IBANs, VAT ids and Leitweg-IDs wherever they are printed, vouched for by their check digits."""
    out: list[Candidate] = []
    finders: list[tuple[str, Kind, Finder]] = [
        ("iban", Kind.IBAN, parsers.find_ibans),
        ("seller_vat_id", Kind.VAT_ID, parsers.find_vat_ids),
        ("buyer_reference", Kind.LEITWEG, _leitweg),
    ]
    for row in rows:
        text, starts = _joined(row.tokens)
        for field, kind, find in finders:
            for value, start, end in find(text):
                tokens = _covering(row.tokens, starts, start, end)
                score = PATTERN_SCORE * _reading_factor(kind, value, tokens)
                candidate = _candidate(field, kind, value, score, tokens, sources, "pattern", row)
                if candidate.checked:
                    out.append(candidate)
    return out


#: Score of a labelled IBAN / VAT id whose check digits fail: given (validation then blocks), never trusted.
UNCHECKED_SCORE = 0.5
_UNCHECKED_SHAPES: dict[str, re.Pattern[str]] = {
    "iban": re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){3,7}(?:\s?[A-Z0-9]{1,3})?\b"),
    # spaced as people write them ("DE 123 456 789", "ATU 12345678"); an Austrian one with a digit too many is
    # still the one printed
    "seller_vat_id": re.compile(r"\b(?:DE\s?\d{3}\s?\d{3}\s?\d{3}|ATU\s?\d{8,9}"
                               r"|FR\s?[0-9A-Z]{2}\s?\d{3}\s?\d{3}\s?\d{3}|[A-Z]{2}\s?\d{8,12}"
                               # as printed, however wrong: a short dummy ("DE0815"), a tax number's form
                               # ("DE/12/345/67890")
                               r"|[A-Z]{2}\d{4,7}|[A-Z]{2}(?:/\d{2,5}){2,4})\b"),
}


def unchecked_candidates(hits: list[LabelHit], sources: dict[int, str], rows: list[Row] | None = None,
                         ) -> list[Candidate]:
    """IBANs and VAT ids right of their label (or, when the label ends its row, at the start of the next row:
    "... folgende Bankverbindung: IBAN / DE75 ...") whose check digits fail: printed wrong, or misread. They are
    given with a low score so that validation can block the invoice with the reason, instead of a silent gap."""
    out: list[Candidate] = []
    for hit in hits:
        shape = _UNCHECKED_SHAPES.get(hit.label.field)
        if shape is None:
            continue
        tokens = hit.after[:8]
        if not tokens and rows is not None:
            following = [r for r in rows if r.page == hit.row.page and r.index == hit.row.index + 1]
            tokens = following[0].tokens[:8] if following else ()
        text, starts = _joined(tokens)
        match = shape.search(text)
        if match is None or len(_covering(tokens, starts, 0, match.start())) > MAX_SKIP:
            continue
        value = parsers.compact(match.group(0))
        covered = _covering(tokens, starts, *match.span())
        # of two readings whose check digits fail, the one OCR was surer of wins
        score = UNCHECKED_SCORE * _reading_factor(FIELD_KINDS[hit.label.field], value, covered)
        out.append(_candidate(hit.label.field, FIELD_KINDS[hit.label.field], value, score, covered, sources,
                              hit.label.text, hit.row))
    return out


#: Score of a due date read from the sentence of the payment terms ("Zahlbar bis ...", "... fällig am ...").
PAYMENT_TERMS_SCORE = 0.85


def payment_term_candidates(rows: list[Row], sources: dict[int, str]) -> list[Candidate]:
    """Due dates in the payment terms: the first date after an anchor word, on its row or the next."""
    out: list[Candidate] = []
    for hit in find_labels(rows, PAYMENT_TERM_ANCHORS):
        following = [r for r in rows if r.page == hit.row.page and r.index == hit.row.index + 1]
        tokens = hit.after + (following[0].tokens if following else ())
        text, starts = _joined(tokens)
        dates = parsers.find_dates(text)
        if not dates:
            continue
        value, start, end = dates[0]
        covered = _covering(tokens, starts, start, end)
        score = PAYMENT_TERMS_SCORE * hit.similarity * _ocr_factor(covered)
        out.append(_candidate("due_date", Kind.DATE, value.isoformat(), score, covered, sources, hit.label.text,
                              hit.row))
    return out


#: Score of a due date computed from payment terms in days ("zahlbar innerhalb 14 Tagen" → issue date + 14): the
#: terms are clear, but the reading depends on the issue date too.
NET_DAYS_SCORE = 0.8
#: How far (characters) after a payment term in days a cash-discount word makes it the discount's term.
DISCOUNT_REACH = 30


def net_days(rows: list[Row]) -> tuple[int, Row] | None:
    """The payment term in days (the longest one, that is, not a cash discount's) and the row it is printed on."""
    found: list[tuple[int, Row]] = []
    for position, row in enumerate(rows):
        nxt = rows[position + 1].text if position + 1 < len(rows) and rows[position + 1].page == row.page else ""
        text = f"{row.text} {nxt}"
        for table in language_tables().values():
            for pattern in table.net_days:
                for match in pattern.finditer(text):
                    if match.start() > len(row.text):
                        continue  # found on the next row: counted there
                    tail = text[match.end() : match.end() + DISCOUNT_REACH].lower()
                    if any(word.lower() in tail for t in language_tables().values() for word in t.discount_words):
                        continue
                    days = int(match.group(1))
                    if 0 < days <= 180:
                        found.append((days, row))
    return max(found, key=lambda f: f[0]) if found else None


#: Headings of the buyer's block in a two-party layout ("Käufer/Leistungsempfänger:") and of the seller's.
_BUYER_HEADING = re.compile(r"(?i)^(?:käufer|leistungsempfänger|rechnungsempfänger|buyer|bill to|acheteur)\b")
_SELLER_HEADING = re.compile(r"(?i)^(?:verkäufer|lieferant|rechnungssteller|leistungserbringer|seller|vendeur)\b")
#: A seller's id (VAT id, IBAN) printed inside the buyer's block scores this much less: it is the buyer's.
BUYER_BLOCK_WEIGHT = 0.3
BUYER_BLOCK_ROWS = 9
_SELLER_FIELDS = frozenset({"seller_vat_id", "seller_tax_number", "iban", "bic"})


def in_buyer_blocks(rows: list[Row], candidates: list[Candidate]) -> list[Candidate]:
    """Candidates of the seller's ids that lie in the buyer's block (the heading and up to
    :data:`BUYER_BLOCK_ROWS` rows after it, ended early by a seller heading) weigh less: such layouts print both
    parties' VAT ids with the same label."""
    buyer_rows: set[tuple[int, int]] = set()
    left = 0  # rows of the buyer's block still to come
    page = 0
    for row in rows:
        if row.page != page:
            page, left = row.page, 0
        text = row.text.strip()
        if _BUYER_HEADING.match(text):
            left = BUYER_BLOCK_ROWS
        elif _SELLER_HEADING.match(text):
            left = 0
        if left:
            buyer_rows.add((row.page, row.index))
            left -= 1
    if not buyer_rows:
        return candidates
    return [
        replace(c, score=round(c.score * BUYER_BLOCK_WEIGHT, 4))
        if c.field in _SELLER_FIELDS and (c.page, c.row) in buyer_rows else c
        for c in candidates
    ]


#: An invoice number written as a word: a capitalised word of letters (and hyphens), as sample invoices print
#: a placeholder ("Rechnungs-Nr. Rechnungsnummer").
_WORD_NUMBER = re.compile(r"[A-ZÄÖÜ][A-Za-zÄÖÜäöüß\-]{3,34}")


def worded_number_candidates(hits: list[LabelHit], rows: list[Row], sources: dict[int, str]) -> list[Candidate]:
    """Invoice numbers without a digit, as printed: the word right after an invoice number's label (a speck
    between them skipped), or right under it when the label heads a column of a header grid; never another
    field's label. Only asked for when no number with a digit was found; given with a low score (a person
    confirms it)."""
    labelled: dict[Token, str] = {t: h.label.field for h in hits for t in h.row.tokens[h.start : h.end]}
    by_row: dict[tuple[int, int], int] = {}
    for hit in hits:
        by_row[(hit.row.page, hit.row.index)] = by_row.get((hit.row.page, hit.row.index), 0) + 1
    out: list[Candidate] = []
    for hit in hits:
        if hit.label.field != "invoice_number":
            continue
        after = [t for t in hit.after[:2] if any(c.isalnum() for c in t.text)][:1]
        words = [t for t in after if labelled.get(t, "invoice_number") == "invoice_number"]
        if not words and by_row[(hit.row.page, hit.row.index)] >= TABLE_HEADER_LABELS:
            x0, _, x1, _ = hit.box
            below = [r for r in rows if r.page == hit.row.page and r.index == hit.row.index + 1]
            words = [t for t in (below[0].tokens if below else ()) if t.box[0] < x1 and t.box[2] > x0][:1]
        for token in words:
            word = token.text.strip(".,;:|]})([{")
            if labelled.get(token, "invoice_number") != "invoice_number" or not _WORD_NUMBER.fullmatch(word):
                continue
            row = next(r for r in rows if r.page == token.page and token in r.tokens)
            out.append(_candidate("invoice_number", Kind.IDENTIFIER, word, UNCHECKED_SCORE * _ocr_factor((token,)),
                                  (token,), sources, hit.label.text, row))
    return out
