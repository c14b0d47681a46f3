"""The seller's name (BT-27): from the seller's block, the sender line, the letterhead and the footer.

An invoice names its seller in several places, none labelled "seller name":

* a **seller block** under a heading ("Verkäufer", "Rechnungsersteller", "Seller", "Vendeur", "Leverancier",
  "Fornitore", "Proveedor"): its first line of words, or the value of its "Name:" line;
* the **sender line** above the address field ("Müller GmbH · Hauptstr. 1 · 12345 Köln"): its first part;
* a name with a **legal form** (GmbH, AG, SARL, B.V., S.p.A., S.L., Ltd ...) in the letterhead (top of page 1)
  or the footer (bottom of a page), e.g. next to the VAT id and the bank details;
* the **letterhead**: the largest writing at the top of page 1.

Each place gives a candidate with a score; readings of the same name from several places agree and raise the
confidence. Names in the buyer's block or the address field (the town hall itself) are never the seller's.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from statistics import median

from extraction.choose import MAX_PLAIN_CONFIDENCE, FieldValue
from extraction.layout import Row, Token, fold
from mailroom.model import Box, union_box

_LEGAL_FORM = re.compile(
    r"(?:\b(?:GMBH|GmbH(?:\s*&\s*Co\.?(?:\s*KG)?)?|gGmbH|mbH|AG|KG|KGaA|OHG|GbR|e\.\s?K\.|e\.\s?V\.|UG(?:\s?\(haftungsbeschr(?:ä|ae|a)nkt\))?|SE|Ltd\.?|Limited|LLC|"
    r"Inc\.?|PLC|plc|LLP|SARL|S\.A\.R\.L\.|SAS|SASU|EURL|SA|S\.A\.|B\.V\.|BV|N\.V\.|NV|V\.O\.F\.|S\.p\.A\.|SpA|"
    r"S\.r\.l\.|Srl|S\.L\.|SL|S\.L\.U\.|Sp\.\s?z\s?o\.o\.|s\.r\.o\.|AB|A/S|ApS|Oy|GesmbH|Ges\.m\.b\.H\.|a\.\s?G\.|eG)"
    r"(?=$|[\s,.;)·|]))"
)
_SELLER_HEADING = re.compile(
    r"(?i)^(?:verkäufer|lieferant|rechnungsersteller|rechnungssteller|leistungserbringer|absender|seller|supplier|"
    r"vendor|from|vendeur|fournisseur|émetteur|emetteur|leverancier|verkoper|fornitore|venditore|cedente|"
    r"proveedor|vendedor|emisor)(?:\s*/\s*[^\W\d_]+)?(?:\s*:\s*|\s*$)"
)
_BUYER_HEADING = re.compile(
    r"(?i)^(?:käufer|leistungsempfänger|rechnungsempfänger|kunde|empfänger|buyer|bill to|billed to|ship to|"
    r"customer|invoice to|acheteur|client|destinataire|koper|klant|cliente|cessionario|comprador|destinatario)\b"
)
#: Addressees of a town's mail: a line starting so is the buyer (the town hall), never the seller.
_ADDRESSEE = re.compile(r"(?i)^(?:stadt|gemeinde|stadtverwaltung|landkreis|kreisverwaltung|amt|rathaus|"
                        r"markt|verbandsgemeinde|samtgemeinde|z\.\s?hd|zu händen|herrn?|frau)\b")
#: Lines of a block that are no name ("Nummer: 549910", "GLN 4000001123452", "Anschrift:").
_NOT_A_NAME = re.compile(r"(?i)^(?:nummer|globale nummer|number|gln|id|kennung|steuernummer|ust|tel|fax|e-?mail|"
                         r"www|http|iban|bic|anschrift|adresse|address|seite|page|datum|date|bank|bankverbindung|konto|pos)\b")
_NAME_LABEL = re.compile(r"(?i)^(?:name|firma|company|raison sociale|naam|ragione sociale|razón social)\s*:?\s*")
_SEPARATORS = re.compile(r"\s*(?:·|•|\||–|—|\s-\s|,)\s*")
#: A street and house number ("Am Mühlbach 3", "Industriestraße 14a"): the line under a letterhead, never a name.
_STREET = re.compile(r"\s\d{1,4}\s?[a-zA-Z]?$")
#: Letters that are a name besides its legal form: "GmbH" alone or a Dutch postcode's "6211 AB" are not names.
MIN_NAME_LETTERS = 2
_POSTCODE = re.compile(r"\b(?:[A-Z]{1,2}[-\s])?\d{4,5}\b")
_TITLE_WORDS = re.compile(r"(?i)^(?:rechnung|gutschrift|invoice|credit note|facture|avoir|factuur|fattura|factura|"
                          r"handelsrechnung|mietrechnung|seite|page|beispiel|stylesheet|zugferd|x-?rechnung)\b")

HEADING_SCORE = 0.9
SENDER_LINE_SCORE = 0.85
LEGAL_FORM_TOP_SCORE = 0.8
LEGAL_FORM_FOOTER_SCORE = 0.75
LEGAL_FORM_ELSEWHERE_SCORE = 0.55
LETTERHEAD_SCORE = 0.5
ADDRESS_BLOCK_SCORE = 0.6
#: Share of the page height that counts as top (letterhead, sender line) and as footer.
TOP_SHARE = 0.3
FOOTER_SHARE = 0.2
BLOCK_ROWS = 5
#: A gap between two words wider than this many word heights separates two cells of a row (columns).
CELL_GAP_HEIGHTS = 1.6


@dataclass(frozen=True)
class NameCandidate:
    """One reading of the seller's name."""

    value: str
    score: float
    page: int
    box: Box
    place: str


def cells(row: Row) -> list[tuple[Token, ...]]:
    """The row split where words stand far apart (a footer's columns, a letterhead beside an information block)."""
    if not row.tokens:
        return []
    height = median(max(t.height, 1) for t in row.tokens)
    out: list[list[Token]] = [[row.tokens[0]]]
    for before, token in zip(row.tokens, row.tokens[1:], strict=False):
        if token.box[0] - before.box[2] > CELL_GAP_HEIGHTS * height:
            out.append([token])
        else:
            out[-1].append(token)
    return [tuple(c) for c in out]


def _clean(text: str) -> str:
    return " ".join(text.split()).strip(" ,;:·|-–")


def _legal_name(text: str) -> str | None:
    """The part of ``text`` that is a company name with its legal form ("Müller GmbH" of "Müller GmbH · Köln")."""
    for part in _SEPARATORS.split(text):
        part = _clean(part)
        if _NOT_A_NAME.match(part) or _ADDRESSEE.match(part) or _TITLE_WORDS.match(part):
            continue
        for form in _LEGAL_FORM.finditer(part):
            if sum(c.isalpha() for c in part[: form.start()]) >= MIN_NAME_LETTERS:
                return part[: form.end()]
    return None


def _plain_name(text: str) -> str | None:
    """A line of a seller block that is a name: letters, not a label line, not an address."""
    text = _NAME_LABEL.sub("", text.strip())
    if ":" in text:
        return None  # a label ("Ansprechpartner:"), with or without its value
    text = _clean(text)
    if not text or _NOT_A_NAME.match(text) or _ADDRESSEE.match(text) or _TITLE_WORDS.match(text):
        return None
    if sum(c.isalpha() for c in text) < 3 or sum(c.isdigit() for c in text) > 2 or _STREET.search(text):
        return None
    return text


def _box(tokens: tuple[Token, ...]) -> Box:
    return union_box([t.box for t in tokens])


def _buyer_rows(rows: list[Row]) -> set[tuple[int, int]]:
    out: set[tuple[int, int]] = set()
    left = 0
    page = 0
    for row in rows:
        if row.page != page:
            page, left = row.page, 0
        text = row.text.strip()
        if _BUYER_HEADING.match(text):
            left = BLOCK_ROWS + 3
        elif _SELLER_HEADING.match(text):
            left = 0
        if left:
            out.add((row.page, row.index))
            left -= 1
    return out


def name_candidates(rows: list[Row], page_heights: dict[int, int]) -> list[NameCandidate]:
    """Every reading of the seller's name on the pages (see the module's docstring)."""
    buyer = _buyer_rows(rows)
    typical = _typical_heights(rows)
    out: list[NameCandidate] = []
    for position, row in enumerate(rows):
        if (row.page, row.index) in buyer:
            continue
        height = page_heights.get(row.page, 0) or 1
        top, bottom = row.box[1] / height, row.box[3] / height
        for cell in cells(row):
            text = " ".join(t.text for t in cell)
            heading = _SELLER_HEADING.match(text)
            if heading and not _large(cell, typical.get(row.page, 0)):  # a letterhead's "Lieferant GmbH" is no heading
                out.extend(_block_names(rows, position, cell, heading.end()))
                continue
            legal = _legal_name(text)
            if legal:
                if row.page == 1 and top < TOP_SHARE:
                    sender = len(_SEPARATORS.findall(text)) >= 2 and bool(_POSTCODE.search(text))
                    score, place = (SENDER_LINE_SCORE, "sender line") if sender else (LEGAL_FORM_TOP_SCORE,
                                                                                       "letterhead")
                elif bottom > 1 - FOOTER_SHARE:
                    score, place = LEGAL_FORM_FOOTER_SCORE, "footer"
                else:
                    score, place = LEGAL_FORM_ELSEWHERE_SCORE, "text"
                out.append(NameCandidate(legal, score, row.page, _box(cell), place))
            elif row.page == 1 and top < TOP_SHARE and len(_SEPARATORS.findall(text)) >= 2 \
                    and _POSTCODE.search(text):
                first = _plain_name(_SEPARATORS.split(text)[0])
                if first:
                    out.append(NameCandidate(first, SENDER_LINE_SCORE * 0.9, row.page, _box(cell), "sender line"))
    out.extend(_letterhead(rows, page_heights.get(1, 0), buyer))
    out.extend(_address_blocks(rows, page_heights.get(1, 0), buyer))
    return out


def _address_blocks(rows: list[Row], page_height: int, buyer: set[tuple[int, int]]) -> list[NameCandidate]:
    """A name above a street line and a postcode line at the top of page 1 ("Test company / Friedrichstraße 68 /
    10117 Berlin"), the seller's address written as a block; the buyer's block and the town's address excluded."""
    top = [r for r in rows if r.page == 1 and page_height and r.box[3] < page_height * TOP_SHARE]
    out: list[NameCandidate] = []
    for position, row in enumerate(top[:-2]):
        if (row.page, row.index) in buyer:
            continue
        for cell in cells(row):
            name = _plain_name(" ".join(t.text for t in cell))
            if not name or _LEGAL_FORM.search(name):
                continue  # a name with a legal form has its own candidate
            x0, x1 = _box(cell)[0], _box(cell)[2]
            below = [" ".join(t.text for t in c) for r in top[position + 1 : position + 3] for c in cells(r)
                     if min(_box(c)[2], x1) - max(_box(c)[0], x0) > 0]
            if len(below) == 2 and _STREET.search(below[0]) and _POSTCODE.match(below[1]):
                out.append(NameCandidate(name, ADDRESS_BLOCK_SCORE, 1, _box(cell), "address block"))
    return out


def _block_names(rows: list[Row], position: int, cell: tuple[Token, ...], heading_end: int) -> list[NameCandidate]:
    """The name of a seller block: on the heading's row after it, a "Name:" line, else its first line of words."""
    row = rows[position]
    rest = _plain_name(" ".join(t.text for t in cell)[heading_end:])
    if rest:
        return [NameCandidate(rest, HEADING_SCORE, row.page, _box(cell), "seller block")]
    x0 = cell[0].box[0]
    following = [r for r in rows[position + 1 : position + 1 + BLOCK_ROWS] if r.page == row.page]
    plain: list[NameCandidate] = []
    for below in following:
        mine = [c for c in cells(below) if c[-1].box[2] >= x0 - 5 and c[0].box[0] <= cell[-1].box[2] + 400]
        if not mine:
            continue
        text = " ".join(t.text for t in mine[0])
        row_cells = cells(below)
        position_of = row_cells.index(mine[0])
        if text.rstrip().endswith(":") and position_of + 1 < len(row_cells):  # "Name:      Lieferant GmbH"
            text = f"{text} {' '.join(t.text for t in row_cells[position_of + 1])}"
        if _BUYER_HEADING.match(text):
            break
        if _NAME_LABEL.match(text) and not _NOT_A_NAME.match(text):
            name = _plain_name(text)
            if name:
                return [NameCandidate(name, HEADING_SCORE, below.page, _box(mine[0]), "seller block")]
            continue
        name = _plain_name(text)
        if name and not plain:
            plain.append(NameCandidate(name, HEADING_SCORE * 0.95, below.page, _box(mine[0]), "seller block"))
        elif name and plain and len(plain) == 1 and not _LEGAL_FORM.search(plain[0].value) \
                and _LEGAL_FORM.search(name):  # a name written on two lines ("MVM Musterhafter / Versicherungsverein")
            first = plain[0]
            plain[0] = NameCandidate(f"{first.value} {name}", first.score, first.page,
                                     union_box([first.box, _box(mine[0])]), first.place)
        elif plain:
            break
    return plain


def _typical_heights(rows: list[Row]) -> dict[int, float]:
    """The median word height per page."""
    heights: dict[int, list[int]] = {}
    for row in rows:
        heights.setdefault(row.page, []).extend(t.height for t in row.tokens)
    return {page: median(values) for page, values in heights.items() if values}


def _large(tokens: tuple[Token, ...], typical: float) -> bool:
    """Letterhead-size writing: at least :data:`LARGE_SHARE` times the page's typical word height."""
    return bool(typical) and median(t.height for t in tokens) >= typical * LARGE_SHARE


#: Writing this many times the typical word height is a letterhead's (a logo's text).
LARGE_SHARE = 1.4


def _letterhead(rows: list[Row], page_height: int, buyer: set[tuple[int, int]]) -> list[NameCandidate]:
    """The largest writing at the top of page 1 (a logo's text), if it reads as a name. The logo's words may stand
    on two rows of the page (their baselines differ a little: "Bei GmbH" / "Spiel"): the large words that overlap
    the tallest one vertically are read together, left to right."""
    top = [r for r in rows if r.page == 1 and page_height and r.box[3] < page_height * 0.2
           and (r.page, r.index) not in buyer]
    if not top:
        return []
    typical = median(t.height for r in rows if r.page == 1 for t in r.tokens)
    tallest = max(top, key=lambda r: median(t.height for t in r.tokens))
    if median(t.height for t in tallest.tokens) < typical * LARGE_SHARE:
        return []
    cell = max(cells(tallest), key=lambda c: median(t.height for t in c))
    y0, y1 = _box(cell)[1], _box(cell)[3]
    logo = sorted({t for r in top for t in r.tokens
                   if t.height >= typical * LARGE_SHARE and min(t.box[3], y1) - max(t.box[1], y0) > t.height / 2},
                  key=lambda t: t.box[0])
    joined = tuple(logo) if logo else cell
    text = " ".join(t.text for t in joined)
    name = _legal_name(text) or _plain_name(text)
    return [NameCandidate(name, LETTERHEAD_SCORE, 1, _box(joined), "letterhead")] if name else []


def _key(name: str) -> str:
    """Readings of one name compare without case, spacing and accents (OCR drops the accents of other languages:
    "Lefevre" for "Lefèvre")."""
    return " ".join(fold(name).split())


def _accents(name: str) -> int:
    return sum(1 for c in unicodedata.normalize("NFKD", name) if unicodedata.combining(c))


#: Each further place that reads the same name raises the confidence this much of what is left to 1.
AGREEMENT_SHARE = 0.5


def choose_seller_name(candidates: list[NameCandidate], source: str) -> FieldValue | None:
    """The best-supported name: the highest score, raised by agreeing places, lowered by a rival."""
    if not candidates:
        return None
    groups: dict[str, list[NameCandidate]] = {}
    for candidate in candidates:
        groups.setdefault(_key(candidate.value), []).append(candidate)
    ranked = sorted(groups.values(), key=lambda g: -_support(g))
    best_group = ranked[0]
    # a letterhead in capitals: the name as written elsewhere; a reading with the accents OCR dropped elsewhere
    best = max(best_group, key=lambda c: (not c.value.isupper(), _accents(c.value), c.score))
    confidence = _support(best_group)
    if len(ranked) > 1:
        rival = _support(ranked[1])
        confidence *= confidence / (confidence + rival * 0.5)
    return FieldValue(best.value, round(min(confidence, MAX_PLAIN_CONFIDENCE), 3), best.page, best.box, source)


def _support(group: list[NameCandidate]) -> float:
    best: dict[str, float] = {}
    for candidate in group:
        best[candidate.place] = max(candidate.score, best.get(candidate.place, 0.0))
    places = sorted(best.values(), reverse=True)
    confidence = places[0]
    for score in places[1:]:
        confidence += (1 - confidence) * AGREEMENT_SHARE * score
    return confidence
