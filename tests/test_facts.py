import json
import warnings
from datetime import date
from decimal import Decimal

import pytest

import helpers
from helpers.facts import (
    Item,
    ReceiptFacts,
    load_receipt_truth,
    normalize_amount,
    normalize_date,
    parse_receipt_facts,
    score_receipt_facts,
)
from helpers.prompts import KEY_FACTS_PROMPT

RECEIPTS = helpers.INPUT_DIR / "receipts"


def test_prompt_is_the_official_key_value_shape():
    assert KEY_FACTS_PROMPT.startswith("Extract the key-value information in the format:{")
    assert json.loads(KEY_FACTS_PROMPT.split("format:", 1)[1])["items"] == [
        {"name": "", "price": ""}
    ]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        # fenced, every field, a price as a number
        (
            '```json\n{"store": "CITY BAKERY", "date": "2026-11-01", "total": "36.85", "items": [{"name": "Muffin", "price": "5.06"}, {"name": "Bagel", "price": 13.2}]}\n```',
            ReceiptFacts("CITY BAKERY", "2026-11-01", "36.85", (Item("Muffin", "5.06"), Item("Bagel", "13.2"))),
        ),
        # prose around bare JSON, other field names, a currency sign
        (
            'Sure! {"shop": "City Bakery", "purchase_date": "01/11/2026 08:47", "total_amount": "$36.85"} Hope it helps.',
            ReceiptFacts("City Bakery", "01/11/2026 08:47", "$36.85"),
        ),
        # cut off inside the last item: complete fields kept, the last item dropped
        (
            '{"store": "CITY BAKERY", "date": "2026-11-01", "total": "36.85", "items": [{"name": "Muffin", "price": "5.06"}, {"name": "Bag',
            ReceiptFacts("CITY BAKERY", "2026-11-01", "36.85", (Item("Muffin", "5.06"),)),
        ),
        # items as "name price" strings and pairs; malformed ones skipped
        (
            '{"store": "X", "items": ["Muffin 5.06", ["Bagel", "13.20"], {"name": "no price"}, 5, {"name": "Tea", "price": "free"}]}',
            ReceiptFacts("X", None, None, (Item("Muffin", "5.06"), Item("Bagel", "13.20"))),
        ),
        # Python quotes, CJK, a comma decimal
        (
            "{'store': '北京咖啡馆', 'date': '2026年11月11日', 'total': '26,18 元'}",
            ReceiptFacts("北京咖啡馆", "2026年11月11日", "26,18 元"),
        ),
        # a thinking block and upper-case keys
        (
            '<think>{"store": "decoy"}</think>{"STORE": "Corner Cafe", "Total": 31.73}',
            ReceiptFacts("Corner Cafe", None, "31.73"),
        ),
        # empty strings count as missing
        ('{"store": "", "date": " ", "total": "12.00"}', ReceiptFacts(None, None, "12.00")),
    ],
)  # fmt: skip
def test_parse_receipt_facts(answer, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert parse_receipt_facts(answer) == expected


@pytest.mark.parametrize(
    "answer", ["I cannot read the receipt.", "", '[{"bbox_2d": [1, 2, 3, 4]}]', "```json\n```"]
)
def test_facts_garbage_warns_and_returns_empty(answer):
    with pytest.warns(UserWarning, match="no JSON key facts"):
        facts = parse_receipt_facts(answer)
    assert facts.is_empty() and facts.items == ()


def test_malformed_items_and_cut_off_warn():
    with pytest.warns(UserWarning, match="skipped 1 malformed item"):
        parse_receipt_facts(
            '{"store": "X", "items": [{"name": "A", "price": "1.00"}, {"name": "B"}]}'
        )
    with pytest.warns(UserWarning, match="cut off"):
        parse_receipt_facts('{"store": "X", "items": [{"name": "A", "price": "1.00"}, {"name"')


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("36.85", "36.85"),  # plain
        ("$36.85", "36.85"),  # currency sign
        ("36,85 €", "36.85"),  # comma decimal, sign after
        ("1,234.50", "1234.50"),  # thousands comma
        ("1 234,50", "1234.50"),  # thousands space, comma decimal
        ("1.234", "1234.00"),  # a dot before three digits groups thousands
        (36.85, "36.85"),  # a JSON number
        (12, "12.00"),  # an integer
        ("26.18元", "26.18"),  # CJK currency word
        ("TOTAL 36.5", "36.50"),  # words around it
        ("-3.50", "-3.50"),  # a refund
        ("free", None),  # no number
        (None, None),  # missing
        (True, None),  # not an amount
    ],
)
def test_normalize_amount(value, expected):
    assert normalize_amount(value) == (None if expected is None else Decimal(expected))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-01", "2026-11-01"),  # ISO
        ("2026-11-01 08:47", "2026-11-01"),  # with a time
        ("2026/11/1", "2026-11-01"),  # slashes, no padding
        ("2026年11月11日", "2026-11-11"),  # Chinese
        ("01/11/2026", "2026-11-01"),  # day first
        ("01.11.2026", "2026-11-01"),  # German style
        ("Nov 1, 2026", "2026-11-01"),  # month name
        ("1 November 2026", "2026-11-01"),  # long form
        ("2026-13-01", None),  # no 13th month
        ("08:47", None),  # a time only: no year
        ("garbage", None),  # nothing
        (None, None),  # missing
    ],
)
def test_normalize_date(value, expected):
    assert normalize_date(value) == expected


def test_score_receipt_facts_field_by_field():
    truth = ReceiptFacts(
        "CITY BAKERY", "2026-11-01", "36.85", (Item("Muffin", "5.06"), Item("Bagel", "13.20"))
    )
    same = ReceiptFacts(
        "City Bakery.", "01/11/2026", "$36.85", (Item("muffin", "5.06"), Item("Bagel", "13.2"))
    )
    score = score_receipt_facts(same, truth)
    assert (score.store, score.date, score.total, score.field_accuracy, score.items_f1) == (
        True,
        True,
        True,
        1.0,
        1.0,
    )
    wrong = ReceiptFacts(
        "CITY BAKERY",
        "2026-11-02",
        "36.58",
        (Item("Muffin", "5.60"), Item("Bagel", "13.20"), Item("Bagel", "13.20")),
    )
    score = score_receipt_facts(wrong, truth)
    assert (score.store, score.date, score.total) == (True, False, False)
    assert (score.items_matched, score.items_precision, score.items_recall) == (
        1,
        1 / 3,
        0.5,
    )  # a duplicate counts once
    empty = score_receipt_facts(ReceiptFacts(), truth)
    assert empty.as_row() == {
        "store": 0,
        "date": 0,
        "total": 0,
        "field_accuracy": 0.0,
        "items_precision": 0.0,
        "items_recall": 0.0,
        "items_f1": 0.0,
    }
    assert not score_receipt_facts(
        ReceiptFacts(total="abc"), ReceiptFacts(total="abc")
    ).total  # unreadable never matches


def test_receipt_truth_matches_the_printed_text():
    truths = load_receipt_truth(RECEIPTS / "manifest.json")
    assert len(truths) == 10 and len({t.condition for t in truths}) == 10
    for truth in truths:
        lines = truth.image.with_suffix(".txt").read_text(encoding="utf-8").splitlines()
        facts = truth.facts
        assert truth.image.exists()
        assert lines[0] == facts.store
        assert lines[1].startswith(f"{facts.date} ") and normalize_date(facts.date) == facts.date
        for item in facts.items:
            assert f"{item.name} {item.price}" in lines, item
        assert sum(normalize_amount(i.price) for i in facts.items) == normalize_amount(facts.total)
        total_line = next(
            line
            for line in lines
            if line.endswith(f" {facts.total}")
            and line not in {f"{i.name} {i.price}" for i in facts.items}
        )
        assert lines.index(total_line) > max(
            lines.index(f"{i.name} {i.price}") for i in facts.items
        )


def test_load_receipt_truth_errors_name_the_file(tmp_path):
    old = tmp_path / "manifest.json"
    old.write_text(
        json.dumps({"receipts": [{"image": "a.png", "language": "en", "condition": "clean"}]})
    )
    with pytest.raises(helpers.InputError, match=r"manifest\.json.*make_receipts"):
        load_receipt_truth(old)


@pytest.mark.parametrize(
    ("answer", "store", "total"),
    [
        ('{"store": "CITY BAKERY", "date": "2024-03-15", "total": "36.85"}', 1, 1),  # all right
        ('```json\n{"store": "city bakery", "total": "$36.85"}\n```', 1, 1),  # fenced, case, $
        ('{"store": "Other Shop", "total": "12.00"}', 0, 0),  # wrong values
        ("I cannot read this receipt.", 0, 0),  # prose: nothing parsed
    ],
)
def test_facts_rows(answer, store, total):
    truth = load_receipt_truth(RECEIPTS / "manifest.json")[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        [row] = helpers.facts.facts_rows([truth], [answer])
    assert (row["image"], row["condition"]) == (truth.image.name, truth.condition)
    assert (row["store"], row["total"]) == (store, total)


def test_facts_rows_counts_must_match():
    truths = load_receipt_truth(RECEIPTS / "manifest.json")[:2]
    with pytest.raises(ValueError, match="one answer per receipt"):
        helpers.facts.facts_rows(truths, ["{}"])


# --- hostile answers: loops, overflows and lies (each row failed, hung or crashed before) --------

#: Characters of a looping answer. A linear parser reads it in milliseconds; the quadratic scans
#: these rows caught took from seconds to minutes. The suite has no timeout, so a regression shows
#: as a slow run; bench/parsers.py measures the parsers' timings.
HOSTILE = 200_000


def same_total(value):
    """Whether a total scores as matching itself: an unreadable one never does."""
    return score_receipt_facts(ReceiptFacts(total=value), ReceiptFacts(total=value)).total


@pytest.mark.parametrize(
    ("parse", "head", "loop", "tail", "expected"),
    [
        (normalize_amount, "TOTAL ", ".", "", None),  # dots, no digit: rescanned from every dot (>40 s)
        (normalize_amount, "", ". ", "", None),  # dots and spaces: the same once spaces were dropped
        (normalize_amount, "", ",", "", None),  # commas, the other separator
        (normalize_date, "2026", " ", "x", None),  # dateutil read it all, gave today's date
        (same_total, "", ".", "", False),  # the scorer normalises the same looping total
        # a looping price: its item is skipped, the rest of the answer kept
        (parse_receipt_facts, '{"store": "X", "items": [{"name": "a", "price": "', ".", '"}]}', ReceiptFacts("X")),
    ],
)  # fmt: skip
def test_looping_answers_are_read_in_linear_time(parse, head, loop, tail, expected):
    text = head + loop * (HOSTILE // len(loop)) + tail
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert parse(text) == expected


@pytest.mark.parametrize(
    ("parse", "value", "expected"),
    [
        (normalize_amount, "9" * 30, None),  # 30 digits: decimal.InvalidOperation before
        (normalize_amount, "1,000,000,000,000,000,000,000,000,000.00", None),  # grouped, the same
        (normalize_amount, 10**30, None),  # a JSON integer too big for any receipt
        (normalize_amount, 1e20, None),  # an exponent: was read as "1" "20", 120.00
        (same_total, "9" * 30, False),  # the scorer crashed on it
        # a price of 30 digits: its item is skipped (crashed before)
        (parse_receipt_facts, '{"store": "X", "items": [{"name": "a", "price": "' + "9" * 30 + '"}]}', ReceiptFacts("X")),
        (parse_receipt_facts, '{"store": "X", "total": 1e400}', ReceiptFacts("X")),  # JSON infinity: was "inf"
        (parse_receipt_facts, '{"store": "X", "total": NaN}', ReceiptFacts("X")),  # JSON NaN: was "nan"
    ],
)  # fmt: skip
def test_numbers_are_bounded(parse, value, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert parse(value) == expected


def test_an_unreadable_json_amount_is_named_in_a_warning():
    with pytest.warns(UserWarning, match=r"skipped the amount inf"):
        assert parse_receipt_facts('{"store": "X", "total": 1e400}').total is None


@pytest.mark.parametrize(
    ("parse", "value", "expected"),
    [
        (normalize_amount, 0.125, Decimal("0.12")),  # a JSON number keeps its value (was 125.00)
        (normalize_amount, 36.855, Decimal("36.86")),  # rounded half to even (was 36855.00)
        (normalize_amount, 1e-07, Decimal("0.00")),  # its exponent is no digit (was 1.00)
        (normalize_amount, "36.85 (2 items)", Decimal("36.85")),  # the first number (was 36852.00)
        (normalize_amount, "36.85 100", Decimal("36.85")),  # no group after a decimal (was 3685100.00)
        (normalize_date, "2026", None),  # a year only: today's month and day were filled in
        (normalize_date, "Nov 2026", None),  # no day: today's was filled in
        (normalize_date, "11/2026", None),  # the same, with a slash
        (normalize_date, "2026年11月", None),  # was 2026-MM-11, the month taken from today
        (normalize_date, "20261101", "2026-11-01"),  # YYYYMMDD (was 2026-01-11)
        (normalize_date, "20261301", None),  # no 13th month, and no other reading (was 2026-01-13)
        (normalize_date, "2026 11 01", "2026-11-01"),  # year first with spaces (was 2026-01-11)
        (normalize_date, "Paid 2026 11 01", None),  # the same after text: ambiguous (was 2026-01-11)
        # JSON number amounts are kept as text that reads back as their value (was "0.125": 125)
        (parse_receipt_facts, '{"store": "X", "total": 0.125}', ReceiptFacts("X", None, "0.12")),
        (parse_receipt_facts, '{"store": "X", "items": [["Tea", 1.255]]}', ReceiptFacts("X", items=(Item("Tea", "1.26"),))),
    ],
)  # fmt: skip
def test_nothing_is_invented_or_read_another_way(parse, value, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert parse(value) == expected


@pytest.mark.parametrize(
    ("written", "truth"),
    [
        ("2024", date.today().replace(year=2024)),  # a year only matched today's date in that year
        ("Dec 2024", date(2024, 12, date.today().day)),  # a month and year matched today's day
        ("12/2024", date(2024, 12, date.today().day)),  # the same, with a slash
    ],
)
def test_a_date_score_never_depends_on_the_run_date(written, truth):
    assert not score_receipt_facts(ReceiptFacts(date=written), ReceiptFacts(date=str(truth))).date
