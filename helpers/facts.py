"""Key facts from receipts: ask for JSON, parse it tolerantly, score it field by field.

The prompt is :data:`helpers.prompts.KEY_FACTS_PROMPT` (its source is named there). Scores compare after normalising: amounts as numbers
(``"$36.85"``, ``"36,85 €"`` and ``36.85`` are equal), dates as ISO ``YYYY-MM-DD``, names by
Unicode-normalised, case-folded text. The known facts of the generated receipts are in
``input/receipts/manifest.json`` (``facts``), written by ``scripts/make_receipts.py``.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from .common.entries import parse_entries
from .common.errors import InputError

FIELDS = ("store", "date", "total")

# Names models use for the same field (compared case-insensitively).
_SYNONYMS = {
    "store": ("store", "store_name", "shop", "shop_name", "merchant", "company", "vendor"),
    "date": ("date", "purchase_date", "transaction_date", "datetime", "date_time"),
    "total": ("total", "total_amount", "grand_total", "amount", "sum", "total_price"),
    "items": ("items", "line_items", "products", "purchases"),
}
_ITEM_NAME = ("name", "item", "product", "description", "item_name")
_ITEM_PRICE = ("price", "amount", "cost", "total", "item_price")

#: Digits an amount may have before its decimal mark (a quadrillion; no receipt comes near).
#: More is a looping answer: unreadable (and Decimal's 28-digit precision is never reached).
MAX_AMOUNT_DIGITS = 15
_CENT = Decimal("0.01")
# A number: sign, digit, digits and separators, a space only before three digits ("1 234,50").
# Linear: each step takes one character of disjoint kinds, nothing after it can fail.
_AMOUNT = re.compile(r"(-?)\s?([.,]?\d(?:[\d.,]|\s(?=\d{3}(?!\d)))*)")
# "2026-11-01", "2026年11月1日", "20261101", "2026 11 01". Linear: each quantifier is bounded
# or spaces before a non-space; a start needs four digits after a non-digit.
_YEAR_FIRST = re.compile(r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)")
_COMPACT_DATE = re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)")  # YYYYMMDD only
_SPACED_DATE = re.compile(r"(?<!\d)(\d{4})\s+(\d{1,2})\s+(\d{1,2})(?!\d)")
# dateutil (slow, fuzzy) reads at most a date field's length ("Wednesday, 30 September 2026,
# 23:59:59 +01:00" has 46 characters). A part not written takes the default: two differing ones.
_MAX_DATE_CHARS = 64
_DEFAULTS = (datetime(2001, 1, 1), datetime(2002, 2, 2))


@dataclass(frozen=True)
class Item:
    """One receipt line: ``name`` and ``price`` as written (the price as text)."""

    name: str
    price: str


@dataclass(frozen=True)
class ReceiptFacts:
    """Key facts as written by the model (or the generator).

    Attributes:
        store: The shop's name, or ``None`` when missing.
        date: The date as written, or ``None``.
        total: The total as written, or ``None``.
        items: The lines bought, each a name with a price.

    Example:
        >>> ReceiptFacts("CITY BAKERY", total="36.85").is_empty(), ReceiptFacts().is_empty()
        (False, True)
    """

    store: str | None = None
    date: str | None = None
    total: str | None = None
    items: tuple[Item, ...] = ()

    def is_empty(self) -> bool:
        """Whether no field was found at all (what a garbage answer gives)."""
        return self.store is None and self.date is None and self.total is None and not self.items


@dataclass(frozen=True)
class FactsScore:
    """Per-field exact match (after normalising) and item precision/recall.

    Attributes:
        store: Whether the store's name matched.
        date: Whether the date matched.
        total: Whether the total matched.
        items_matched: Items whose name and price both matched (each known item once).
        items_predicted: Items the model wrote.
        items_expected: Items the receipt has.

    Example:
        >>> score = FactsScore(True, False, True, 2, 3, 4)
        >>> round(score.field_accuracy, 3), round(score.items_precision, 3), score.items_recall
        (0.667, 0.667, 0.5)
    """

    store: bool
    date: bool
    total: bool
    items_matched: int
    items_predicted: int
    items_expected: int

    @property
    def field_accuracy(self) -> float:
        """Share of store, date and total that are right."""
        return (self.store + self.date + self.total) / 3

    @property
    def items_precision(self) -> float:
        """Share of the model's items that are right; 0.0 when it wrote none."""
        return self.items_matched / self.items_predicted if self.items_predicted else 0.0

    @property
    def items_recall(self) -> float:
        """Share of the receipt's items found; 0.0 when it has none."""
        return self.items_matched / self.items_expected if self.items_expected else 0.0

    @property
    def items_f1(self) -> float:
        """Harmonic mean of item precision and recall."""
        p, r = self.items_precision, self.items_recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_row(self) -> dict[str, Any]:
        """One table row: 1/0 per field, field accuracy and item scores (3 decimals)."""
        return {
            "store": int(self.store),
            "date": int(self.date),
            "total": int(self.total),
            "field_accuracy": round(self.field_accuracy, 3),
            "items_precision": round(self.items_precision, 3),
            "items_recall": round(self.items_recall, 3),
            "items_f1": round(self.items_f1, 3),
        }


# --- normalising --------------------------------------------------------------------------


def normalize_name(value: Any) -> str:
    """A name for comparing: NFKC, case-folded, whitespace collapsed, end punctuation stripped.

    Args:
        value: A name as written.

    Returns:
        The normalised text.

    Example:
        >>> normalize_name("  City   Bakery. "), normalize_name("ＣＡＦＥ")
        ('city bakery', 'cafe')
    """
    text = unicodedata.normalize("NFKC", str(value)).casefold()
    return re.sub(r"\s+", " ", text).strip(" .,:;!?'\"-")


def normalize_amount(value: Any) -> Decimal | None:
    """An amount as a number with two decimals.

    Currency signs and words are ignored; ``"1,234.50"``, ``"1 234,50"``, ``"36,85"`` and
    ``36.85`` are read the usual way (the last ``,`` or ``.`` followed by one or two digits is the
    decimal mark; other separators group thousands). The first number counts: ``"36.85 (2
    items)"`` is 36.85. A JSON number keeps its value, rounded to the cent half to even
    (Decimal's rule: ``0.125`` is 0.12, ``36.855`` is 36.86).

    Args:
        value: An amount as written, or a JSON number.

    Returns:
        The amount, or ``None`` when there is no number in it, or one with more than
        :data:`MAX_AMOUNT_DIGITS` digits before its decimal mark (or not finite).

    Example:
        >>> normalize_amount("$36.85"), normalize_amount("36,85 €"), normalize_amount(36.85)
        (Decimal('36.85'), Decimal('36.85'), Decimal('36.85'))
        >>> normalize_amount("1 234,5"), normalize_amount("free"), normalize_amount(0.125)
        (Decimal('1234.50'), None, Decimal('0.12'))
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        amount = Decimal(value if isinstance(value, int) else str(value))  # 0.125 stays 0.125
        if not amount.is_finite() or amount.adjusted() >= MAX_AMOUNT_DIGITS:
            return None
        return amount.quantize(_CENT, rounding=ROUND_HALF_EVEN)
    match = _AMOUNT.search(unicodedata.normalize("NFKC", str(value)))
    if not match:
        return None
    parts = match.group(2).split()  # "1 234 567,89": spaces group the whole number only
    last = next((i for i, part in enumerate(parts) if not part.isdigit()), len(parts) - 1)
    number = "".join(parts[: last + 1]).rstrip(".,")
    mark = max(number.rfind("."), number.rfind(","))
    if not 1 <= len(number) - mark - 1 <= 2:
        mark = len(number)  # no decimal mark: every separator groups thousands
    whole = re.sub(r"[.,]", "", number[:mark]).lstrip("0")
    if len(whole) > MAX_AMOUNT_DIGITS:
        return None
    amount = Decimal(f"{match.group(1)}{whole or 0}.{number[mark + 1 :] or 0}")
    return amount.quantize(_CENT, rounding=ROUND_HALF_EVEN)


def normalize_date(value: Any) -> str | None:
    """A date as ISO ``YYYY-MM-DD``.

    Year-first forms (``2026-11-01``, ``2026/11/01``, ``2026 11 01``, ``2026年11月1日``) and
    ``YYYYMMDD`` (``20261101``) are read directly; others with python-dateutil, day first
    (``01/11/2026`` is 1 November). A time after the date is ignored. A date needs its year,
    month and day written: nothing is filled in (from today or otherwise), so ``"2026"``,
    ``"Nov 2026"`` and ``"08:47"`` are not dates here.

    Args:
        value: A date as written.

    Returns:
        The ISO date, or ``None`` when it cannot be read.

    Example:
        >>> normalize_date("2026-11-01 08:47"), normalize_date("01.11.2026"), normalize_date("Nov 1, 2026")
        ('2026-11-01', '2026-11-01', '2026-11-01')
        >>> normalize_date("08:47") is None, normalize_date("2026") is None
        (True, True)
    """
    if value is None:
        return None
    text = unicodedata.normalize("NFKC", str(value)).strip()
    match = _YEAR_FIRST.search(text) or _COMPACT_DATE.search(text) or _SPACED_DATE.search(text)
    try:
        if match and match.re is _SPACED_DATE and match.start():
            return None  # "1 Nov 2026 12 30", "x 2026 11 01": a year first, or a time after it?
        if match:  # the first year-first date decides: an impossible one is no date
            return date(*(int(g) for g in match.groups())).isoformat()
        if len(text) > _MAX_DATE_CHARS:
            return None
        from dateutil import parser

        dates = {parser.parse(text, dayfirst=True, fuzzy=True, default=d).date() for d in _DEFAULTS}
    except (ValueError, OverflowError, TypeError):
        return None
    return dates.pop().isoformat() if len(dates) == 1 else None  # two: a part was not written


# --- parsing ------------------------------------------------------------------------------


def _lookup(entry: dict[str, Any], names: Sequence[str]) -> Any:
    lowered = {str(k).strip().lower(): v for k, v in entry.items()}
    return next((lowered[n] for n in names if n in lowered), None)


def _scalar(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def _amount(value: Any) -> str | None:
    """An amount as text that reads back as its value: a JSON number the text rules would read
    otherwise (``0.125`` as 125) is written to the cent (``"0.12"``); an unreadable one is dropped
    with a warning naming it."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return _scalar(value)
    amount = normalize_amount(value)
    if amount is None:
        warnings.warn(
            f"skipped the amount {value!r:.40}: not finite, or 1e15 or more", stacklevel=3
        )
        return None
    return str(value) if normalize_amount(str(value)) == amount else str(amount)


def _item(value: Any) -> Item | None:
    if isinstance(value, dict):
        name, price = _lookup(value, _ITEM_NAME), _lookup(value, _ITEM_PRICE)
    elif isinstance(value, (list, tuple)) and len(value) == 2:
        name, price = value
    elif isinstance(value, str) and " " in value.strip():
        name, _, price = value.strip().rpartition(" ")  # "Coffee 3.50"
    else:
        return None
    name, price = _scalar(name), _amount(price)
    if name is None or price is None or normalize_amount(price) is None:
        return None
    return Item(name, price)


def parse_receipt_facts(text: str) -> ReceiptFacts:
    r"""The key facts of a model answer: the first JSON object with a store, date, total or items.

    Tolerant like :func:`helpers.parse_detections`: fenced or bare JSON, prose around it, Python
    quotes, a ``<think>`` block, field-name variants (``shop``, ``total_amount``...). An answer cut
    off inside the object keeps its complete fields; its last item, possibly incomplete, is
    dropped. Items that are not a name with a price are skipped with a warning. A JSON number
    amount keeps its value: ``0.125`` is kept as ``"0.12"`` (the text ``"0.125"`` reads as 125).

    Args:
        text: The model's answer to :data:`KEY_FACTS_PROMPT`.

    Returns:
        The facts as written; empty facts (every field ``None``, no items, with a warning) when
        the answer holds no such JSON.

    Example:
        >>> answer = 'Sure:\n```json\n{"shop": "City Bakery", "date": "2026-11-01", "total": "$36.85",'
        >>> answer += ' "items": [{"name": "Muffin", "price": "5.06"}]}\n```'
        >>> parse_receipt_facts(answer)
        ReceiptFacts(store='City Bakery', date='2026-11-01', total='$36.85', items=(Item(name='Muffin', price='5.06'),))
    """
    complete = [e for e in parse_entries(text) if isinstance(e, dict)]
    cut_off = False
    entries = complete
    if not complete:
        entries = [e for e in parse_entries(text, keep_cut_off=True) if isinstance(e, dict)]
        cut_off = bool(entries)
    known = [
        e for e in entries if any(_lookup(e, names) is not None for names in _SYNONYMS.values())
    ]
    if not known:
        warnings.warn(f"no JSON key facts found in the answer: {text[:80]!r}", stacklevel=2)
        return ReceiptFacts()
    entry = known[0]
    raw_items = _lookup(entry, _SYNONYMS["items"])
    raw_items = raw_items if isinstance(raw_items, list) else []
    if cut_off and raw_items:
        raw_items = raw_items[:-1]
        warnings.warn(
            "the answer was cut off inside the JSON: its last item was dropped; raise "
            "max_new_tokens",
            stacklevel=2,
        )
    items = [i for i in (_item(v) for v in raw_items) if i is not None]
    if len(items) < len(raw_items):
        warnings.warn(
            f"skipped {len(raw_items) - len(items)} malformed item(s) (expected a name and a price)",
            stacklevel=2,
        )
    return ReceiptFacts(
        store=_scalar(_lookup(entry, _SYNONYMS["store"])),
        date=_scalar(_lookup(entry, _SYNONYMS["date"])),
        total=_amount(_lookup(entry, _SYNONYMS["total"])),
        items=tuple(items),
    )


# --- truth and scoring --------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiptTruth:
    """One generated receipt: image path, reading condition, language and its key facts."""

    image: Path
    condition: str
    language: str
    facts: ReceiptFacts = field(default_factory=ReceiptFacts)


def load_receipt_truth(manifest: str | os.PathLike) -> list[ReceiptTruth]:
    """Every receipt of a manifest written by ``scripts/make_receipts.py``, with its key facts.

    Args:
        manifest: The ``manifest.json`` path.

    Returns:
        One entry per receipt, in the manifest's order.

    Raises:
        InputError: The file is missing, or has no key facts; the message says how to regenerate.

    Example:
        >>> import helpers
        >>> first = load_receipt_truth(helpers.INPUT_DIR / "receipts" / "manifest.json")[0]
        >>> first.condition, first.facts.store, first.facts.total
        ('clean', 'CITY BAKERY', '36.85')
    """
    path = Path(manifest)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        truths = []
        for row in data["receipts"]:
            facts = data["facts"][row["image"]]
            truths.append(
                ReceiptTruth(
                    path.parent / row["image"],
                    row["condition"],
                    row["language"],
                    ReceiptFacts(
                        facts["store"],
                        facts["date"],
                        facts["total"],
                        tuple(Item(i["name"], i["price"]) for i in facts["items"]),
                    ),
                )
            )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"{os.fspath(path)!r} is not a readable receipts manifest with key facts ({exc}); "
            "regenerate it with `python scripts/make_receipts.py`."
        ) from exc
    return truths


def _item_key(item: Item) -> tuple[str, Decimal | None]:
    return normalize_name(item.name), normalize_amount(item.price)


def score_receipt_facts(predicted: ReceiptFacts, truth: ReceiptFacts) -> FactsScore:
    """Score facts field by field: exact match after normalising.

    The store is compared by :func:`normalize_name`, the date by :func:`normalize_date`, the total
    by :func:`normalize_amount`; an unreadable value never matches. Items match when name and
    price both match, each known item counted once.

    Args:
        predicted: The model's facts.
        truth: The known facts.

    Returns:
        Per-field matches and item counts.

    Example:
        >>> truth = ReceiptFacts("CITY BAKERY", "2026-11-01", "36.85", (Item("Muffin", "5.06"),))
        >>> model = ReceiptFacts("City Bakery", "01/11/2026", "$36.85", (Item("muffin", "5.60"),))
        >>> score_receipt_facts(model, truth).as_row()["field_accuracy"]
        1.0
        >>> score_receipt_facts(model, truth).items_matched
        0
    """

    def same(value: str | None, expected: str | None, normalize: Any) -> bool:
        return (
            value is not None
            and normalize(value) is not None
            and (normalize(value) == normalize(expected))
        )

    matched = Counter(_item_key(i) for i in predicted.items) & Counter(
        _item_key(i) for i in truth.items
    )
    return FactsScore(
        store=same(predicted.store, truth.store, normalize_name),
        date=same(predicted.date, truth.date, normalize_date),
        total=same(predicted.total, truth.total, normalize_amount),
        items_matched=sum(matched.values()),
        items_predicted=len(predicted.items),
        items_expected=len(truth.items),
    )


def facts_rows(truths: Sequence[ReceiptTruth], answers: Sequence[str]) -> list[dict[str, Any]]:
    """Parse each receipt's answer to :data:`KEY_FACTS_PROMPT` and score it field by field.

    Args:
        truths: From :func:`load_receipt_truth`.
        answers: One answer per receipt, in the same order.

    Returns:
        One row per receipt: image, condition, the store as read, and
        :meth:`FactsScore.as_row`'s scores.

    Raises:
        ValueError: The counts differ.

    Example:
        >>> import helpers
        >>> [truth] = load_receipt_truth(helpers.INPUT_DIR / "receipts" / "manifest.json")[:1]
        >>> row = facts_rows([truth], ['{"store": "City Bakery", "total": "$36.85"}'])[0]
        >>> row["store_read"], row["store"], row["total"]
        ('City Bakery', 1, 1)
    """
    if len(truths) != len(answers):
        raise ValueError(
            f"facts_rows: {len(truths)} receipts but {len(answers)} answers; give one answer per "
            "receipt, in the same order."
        )
    rows = []
    for truth, answer in zip(truths, answers, strict=True):
        facts = parse_receipt_facts(answer)
        rows.append(
            {
                "image": truth.image.name,
                "condition": truth.condition,
                "store_read": facts.store,
                **score_receipt_facts(facts, truth.facts).as_row(),
            }
        )
    return rows
